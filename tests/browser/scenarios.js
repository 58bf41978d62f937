// Calls that make the loaded TRTC Web SDK fail, one after the other, each
// bounded in time; then window.scenariosDone(). Runs in the page that
// capture.mjs serves, with the SDK (4.x or 5.x) loaded as the global TRTC.
// An app's own handling is imitated where apps do it: `console.error(e)` in
// a catch, so those records are captured too.
(function () {
  const SDK_APP_ID = 1400000001;
  const wait = (ms) => new Promise((r) => setTimeout(r, ms));
  const bounded = (p, ms) => Promise.race([Promise.resolve(p), wait(ms)]);
  async function attempt(name, f, ms) {
    try {
      await bounded(f(), ms || 5000);
    } catch (e) {
      // What an app's catch block prints.
      console.error(e);
    }
  }

  async function v5() {
    TRTC.setLogLevel(1);
    const trtc = TRTC.create();
    await attempt('startLocalVideo', () => trtc.startLocalVideo({ view: 'view' }));
    await attempt('startLocalAudio', () => trtc.startLocalAudio());
    await attempt('enterRoom without params', () => trtc.enterRoom({}));
    await attempt('enterRoom bad roomId', () =>
      trtc.enterRoom({ sdkAppId: SDK_APP_ID, userId: 'alice', userSig: 'sig', roomId: -1 }));
    await attempt('switchRole before enterRoom', () => trtc.switchRole('anchor'));
    await attempt('startRemoteVideo before enterRoom', () =>
      trtc.startRemoteVideo({ userId: 'bob', streamType: 'main', view: 'view' }));
    await attempt('enterRoom unreachable', () =>
      trtc.enterRoom({ sdkAppId: SDK_APP_ID, userId: 'alice', userSig: 'sig', roomId: 8888 }), 12000);
    await attempt('exitRoom', () => trtc.exitRoom());
  }

  async function v4() {
    TRTC.Logger.setLogLevel(TRTC.Logger.LogLevel.INFO);
    await attempt('createClient without params', () => TRTC.createClient({}));
    const client = TRTC.createClient({ mode: 'rtc', sdkAppId: SDK_APP_ID, userId: 'alice', userSig: 'sig' });
    const stream = TRTC.createStream({ audio: true, video: true, userId: 'alice' });
    await attempt('initialize without devices', () => stream.initialize());
    await attempt('publish before join', () => client.publish(stream));
    await attempt('join bad roomId', () => client.join({ roomId: 'not a number' }));
    await attempt('join unreachable', () => client.join({ roomId: 8888 }), 12000);
    await attempt('leave', () => client.leave());
  }

  (typeof TRTC.create === 'function' ? v5() : v4())
    .catch((e) => console.error('scenario runner failed', e))
    .then(() => wait(500))
    .then(() => window.scenariosDone());
})();
