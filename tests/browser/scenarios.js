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

  // With a log proxy (capture.mjs LOGGER_PROXY), the SDK uploads its own
  // log there, as an app sends it to trtc-logwatch's browser endpoint.
  let proxy = '';

  async function v5() {
    TRTC.setLogLevel(1, !!proxy);
    const withProxy = (p) => (proxy ? Object.assign(p, { proxy: { loggerProxy: proxy } }) : p);
    const trtc = TRTC.create();
    await attempt('startLocalVideo', () => trtc.startLocalVideo({ view: 'view' }));
    await attempt('startLocalAudio', () => trtc.startLocalAudio());
    await attempt('enterRoom without params', () => trtc.enterRoom({}));
    await attempt('enterRoom bad roomId', () =>
      trtc.enterRoom(withProxy({ sdkAppId: SDK_APP_ID, userId: 'alice', userSig: 'sig', roomId: -1 })));
    await attempt('switchRole before enterRoom', () => trtc.switchRole('anchor'));
    await attempt('startRemoteVideo before enterRoom', () =>
      trtc.startRemoteVideo({ userId: 'bob', streamType: 'main', view: 'view' }));
    await attempt('enterRoom unreachable', () =>
      trtc.enterRoom(withProxy({ sdkAppId: SDK_APP_ID, userId: 'alice', userSig: 'sig', roomId: 8888 })), 12000);
    await attempt('exitRoom', () => trtc.exitRoom());
  }

  async function v4() {
    TRTC.Logger.setLogLevel(TRTC.Logger.LogLevel.INFO);
    if (proxy) TRTC.Logger.enableUploadLog();
    await attempt('createClient without params', () => TRTC.createClient({}));
    const client = TRTC.createClient({ mode: 'rtc', sdkAppId: SDK_APP_ID, userId: 'alice', userSig: 'sig' });
    if (proxy) client.setProxyServer({ loggerProxy: proxy });
    const stream = TRTC.createStream({ audio: true, video: true, userId: 'alice' });
    await attempt('initialize without devices', () => stream.initialize());
    await attempt('publish before join', () => client.publish(stream));
    await attempt('join bad roomId', () => client.join({ roomId: 'not a number' }));
    await attempt('join unreachable', () => client.join({ roomId: 8888 }), 12000);
    await attempt('leave', () => client.leave());
  }

  Promise.resolve(window.loggerProxy ? window.loggerProxy() : '')
    .then((p) => {
      proxy = p;
      return typeof TRTC.create === 'function' ? v5() : v4();
    })
    .catch((e) => console.error('scenario runner failed', e))
    // The SDKs upload their log every few seconds: wait for the last one.
    .then(() => wait(proxy ? 10000 : 500))
    .then(() => window.scenariosDone());
})();
