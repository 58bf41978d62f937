//! The NATS JetStream source: a durable pull consumer that several replicas
//! bind and share (the server hands each message to one of them).
//!
//! Messages are fetched in batches; their lines (a JSON message's
//! `message_field`, else its text) are scanned and queued like a file's,
//! then an acknowledgement is queued behind them and, once the sink has
//! written every event before it, each message of the batch is acked to the
//! server. A replica that dies before that leaves its batch unacked: the
//! server delivers it again after `ack_wait`, to any replica. So nothing is
//! skipped; the dead replica's unacknowledged batch may be counted twice.
//! On SIGTERM the batch in hand is finished and acked, then the source ends.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, stream};
use futures_util::StreamExt;

use std::sync::Arc;

use prometheus_client::registry::Registry;

use super::{Checkpoints, Kind, Source, SourceContext, StartError, Started, from_section};
use crate::bodies::{self, Records};
use crate::daemon::config::{Config, NatsConfig};
use crate::daemon::metrics::{Fam, GaugeFam, Metrics, SourceLabel};
use crate::daemon::queue::SinkMsg;
use crate::pipeline::Pipeline;

/// The kind: the config's NATS consumer, if it has one.
pub(crate) fn kind(r: &mut Registry) -> Box<dyn Kind> {
    Box::new(NatsKind {
        m: NatsMetrics::register(r),
    })
}

struct NatsKind {
    m: Arc<NatsMetrics>,
}

impl Kind for NatsKind {
    fn sources(&self, config: &Config, _: &mut Checkpoints) -> Vec<Box<dyn Source>> {
        from_section(config.nats.as_ref(), |cfg| {
            Box::new(NatsSource {
                cfg,
                m: Arc::clone(&self.m),
            })
        })
    }

    fn restart_only(&self, old: &Config, new: &Config) -> Option<&'static str> {
        (old.nats != new.nats).then_some("nats")
    }

    fn declare(&self, config: &Config, metrics: &Metrics) {
        if let Some(n) = &config.nats {
            metrics.declare_source(&n.source);
            self.m.declare(&n.source);
        }
    }
}

/// The consumer's own metrics.
#[derive(Debug, Default)]
struct NatsMetrics {
    messages: Fam<SourceLabel>,
    redelivered: Fam<SourceLabel>,
    pending: GaugeFam,
}

impl NatsMetrics {
    fn register(r: &mut Registry) -> Arc<Self> {
        let m = Self::default();
        r.register(
            "trtc_logwatch_nats_messages",
            "NATS JetStream messages consumed (acknowledged once their events were written)",
            m.messages.clone(),
        );
        r.register(
            "trtc_logwatch_nats_redelivered",
            "NATS JetStream messages that came again (another replica did not acknowledge them in ack_wait)",
            m.redelivered.clone(),
        );
        r.register(
            "trtc_logwatch_nats_pending",
            "Messages left in the NATS consumer after the last batch",
            m.pending.clone(),
        );
        Arc::new(m)
    }

    /// Creates the series of `source` at 0.
    fn declare(&self, source: &str) {
        let l = SourceLabel {
            source: source.into(),
        };
        drop(self.messages.get_or_create(&l));
        drop(self.redelivered.get_or_create(&l));
        drop(self.pending.get_or_create(&l));
    }

    /// A batch: its messages, how many came again, what is pending.
    fn batch(&self, source: &str, messages: u64, redelivered: u64, pending: u64) {
        let l = SourceLabel {
            source: source.into(),
        };
        self.messages.get_or_create(&l).inc_by(messages);
        self.redelivered.get_or_create(&l).inc_by(redelivered);
        self.pending
            .get_or_create(&l)
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
    }
}

/// The JetStream consumer as a source.
#[derive(Debug)]
pub struct NatsSource {
    cfg: NatsConfig,
    m: Arc<NatsMetrics>,
}

/// Why a consuming round stopped.
#[derive(Debug, thiserror::Error)]
enum NatsError {
    #[error("{0}")]
    Nats(String),
    /// The durable consumer (or its stream) was deleted under us.
    #[error("the consumer is gone ({0}): binding it again")]
    Lost(String),
    #[error("the events sink has stopped")]
    SinkClosed,
}

/// Where a consumer created again resumes: after the last message this
/// replica acked, if the stream is the same one (same creation time); a
/// stream created anew is read from its start.
#[derive(Debug, Default)]
struct Resume {
    /// When the stream bound last was created.
    stream_created: Option<String>,
    /// The stream sequence after the last message this replica acked.
    next_sequence: Option<u64>,
}

impl Resume {
    /// The deliver policy for a consumer created on the stream created at
    /// `created`. A stream other than the one read before (created anew)
    /// is read from its start, and what was acked of the old one is
    /// forgotten: its sequence numbers start again.
    fn policy(&mut self, created: &str, last_sequence: u64) -> jetstream::consumer::DeliverPolicy {
        // Another stream, or one that has not come that far (its sequence
        // numbers started again): read it from its start.
        if self.stream_created.as_deref() != Some(created)
            || self
                .next_sequence
                .is_some_and(|n| n > last_sequence.saturating_add(1))
        {
            self.next_sequence = None;
        }
        match self.next_sequence {
            Some(start_sequence) => {
                jetstream::consumer::DeliverPolicy::ByStartSequence { start_sequence }
            }
            None => jetstream::consumer::DeliverPolicy::All,
        }
    }
}

/// A fetch that has said nothing for this long (its own expiry is 500 ms)
/// has ended.
const FETCH_SILENCE: Duration = Duration::from_secs(5);

/// How long a source whose consumer or stream is gone waits before it
/// binds (and maybe creates) them again.
const REBIND_PAUSE: Duration = Duration::from_millis(500);

/// After this many empty fetches in a row (about 10 s), the source asks
/// whether its consumer still exists.
const IDLE_CHECK: u32 = 20;

/// What a look at the consumer found wrong.
enum Check {
    /// It is gone, or its stream is.
    Lost(String),
    /// It has messages for us but delivered none through a long quiet:
    /// nothing in flight, our pull requests waiting, and still nothing
    /// comes. Seen with a consumer created just after its stream was
    /// created again (nats-server 2.9); bound again it stays so, created
    /// again it delivers. Everything it delivered is acked, so it is
    /// created again after its ack floor: nothing lost, nothing twice.
    Wedged {
        pending: u64,
        next_sequence: u64,
    },
    Nats(NatsError),
}

/// Asks the server about the consumer (`quiet`: after a long quiet).
async fn check_consumer(
    consumer: &mut jetstream::consumer::PullConsumer,
    quiet: bool,
) -> Result<(), Check> {
    use jetstream::context::ConsumerInfoErrorKind as K;
    match consumer.info().await {
        Ok(i) if quiet && i.num_pending > 0 && i.num_ack_pending == 0 => Err(Check::Wedged {
            pending: i.num_pending,
            next_sequence: i.ack_floor.stream_sequence + 1,
        }),
        Ok(_) => Ok(()),
        Err(e) if matches!(e.kind(), K::NotFound | K::StreamNotFound) => {
            Err(Check::Lost(e.to_string()))
        }
        Err(e) => Err(Check::Nats(nats_err(format!(
            "asking for the consumer: {e}"
        )))),
    }
}

fn nats_err(e: impl std::fmt::Display) -> NatsError {
    NatsError::Nats(e.to_string())
}

impl Source for NatsSource {
    fn name(&self) -> String {
        format!("nats:{}", self.cfg.source)
    }

    fn start(self: Box<Self>, mut ctx: SourceContext) -> Result<Started, StartError> {
        Ok(Started::thread(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("nats-io")
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!("nats source: cannot start its runtime: {e}");
                    return;
                }
            };
            rt.block_on(self.consume(&mut ctx));
        }))
    }
}

impl NatsSource {
    /// Connects, binds the durable consumer and consumes until cancelled;
    /// a failure is logged (once per cause) and tried again with backoff.
    async fn consume(&self, ctx: &mut SourceContext) {
        let mut pipeline = Pipeline::builder(&*self.cfg.source)
            .path(format!("nats:{}", self.cfg.stream))
            .max_line_bytes(ctx.max_line_bytes)
            .build();
        let mut backoff = Duration::from_millis(250);
        let mut last_error = String::new();
        let mut resume = Resume::default();
        let what = self.name();
        while !ctx.cancel.is_cancelled() {
            match self.round(ctx, &mut pipeline, &mut resume).await {
                Ok(()) => return,
                Err(NatsError::SinkClosed) => return,
                Err(e) => {
                    ctx.ready.lost(&what, e.to_string());
                    if matches!(e, NatsError::Lost(_)) {
                        // Bound again after a short pause (backoff if that
                        // fails): a stream created again within milliseconds
                        // of its deletion was seen (nats-server 2.9) to
                        // store messages but never deliver them.
                        tracing::warn!("nats source {}: {e}", self.cfg.source);
                        ctx.metrics.read_error(&self.cfg.source);
                        last_error.clear();
                        backoff = Duration::from_millis(250);
                        tokio::select! {
                            _ = ctx.cancel.cancelled() => return,
                            _ = tokio::time::sleep(REBIND_PAUSE) => {}
                        }
                        continue;
                    }
                    let e = e.to_string();
                    if e != last_error {
                        tracing::warn!("nats source {}: {e}; trying again", self.cfg.source);
                        ctx.metrics.read_error(&self.cfg.source);
                        last_error = e;
                    }
                    tokio::select! {
                        _ = ctx.cancel.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    async fn round(
        &self,
        ctx: &mut SourceContext,
        pipeline: &mut Pipeline,
        resume: &mut Resume,
    ) -> Result<(), NatsError> {
        let c = &self.cfg;
        let client = async_nats::connect(&c.url).await.map_err(nats_err)?;
        let js = jetstream::new(client);
        let stream = if c.subjects.is_empty() {
            js.get_stream(&c.stream).await.map_err(nats_err)?
        } else {
            js.get_or_create_stream(stream::Config {
                name: c.stream.clone(),
                subjects: c.subjects.clone(),
                ..Default::default()
            })
            .await
            .map_err(nats_err)?
        };
        let info = stream.cached_info();
        let created = info.created.to_string();
        let deliver_policy = resume.policy(&created, info.state.last_sequence);
        let mut consumer = stream
            .get_or_create_consumer(
                &c.durable,
                pull::Config {
                    durable_name: Some(c.durable.clone()),
                    deliver_policy,
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: c.ack_wait,
                    // Room for many replicas each holding a batch in hand.
                    max_ack_pending: i64::try_from(c.batch * 32).unwrap_or(i64::MAX),
                    ..Default::default()
                },
            )
            .await
            .map_err(nats_err)?;
        // Bound: this stream is the one read from now on.
        resume.stream_created = Some(created);
        tracing::info!(
            "nats source {}: consuming {} as durable {} on {} (stream created {}, {} messages; {})",
            c.source,
            c.stream,
            c.durable,
            c.url,
            resume.stream_created.as_deref().unwrap_or("?"),
            info.state.last_sequence,
            match consumer.cached_info().config.deliver_policy {
                jetstream::consumer::DeliverPolicy::ByStartSequence { start_sequence } =>
                    format!("from sequence {start_sequence}"),
                jetstream::consumer::DeliverPolicy::All => "from the start".to_string(),
                p => format!("{p:?}"),
            }
        );
        ctx.ready.set();
        ctx.ready.regained(&self.name());
        let mut idle = 0u32;
        while !ctx.cancel.is_cancelled() {
            let mut batch = consumer
                .fetch()
                .max_messages(c.batch)
                .max_bytes(c.batch_bytes)
                .expires(Duration::from_millis(500))
                .messages()
                .await
                .map_err(nats_err)?;
            // A fetch can end in a status instead of messages (too many
            // unacknowledged across the replicas, a request timeout): what
            // came before it is handled and acked all the same, never
            // dropped to wait out `ack_wait`.
            let mut msgs = Vec::new();
            let mut status = None;
            let mut silent = false;
            loop {
                let next = tokio::select! {
                    // Unacked messages in hand are delivered again later.
                    _ = ctx.cancel.cancelled() => return Ok(()),
                    n = tokio::time::timeout(FETCH_SILENCE, batch.next()) => n,
                };
                match next {
                    Ok(None) => break,
                    Ok(Some(Ok(m))) => msgs.push(m),
                    Ok(Some(Err(e))) => {
                        status = Some(e.to_string());
                        break;
                    }
                    Err(_) => {
                        status = Some(format!("no answer within {FETCH_SILENCE:?}"));
                        silent = true;
                        break;
                    }
                }
            }
            if msgs.is_empty() {
                idle += 1;
            } else {
                idle = 0;
            }
            // A fetch that ended in a status (a deleted consumer answers
            // 409 or no responders), or a long quiet: does the consumer
            // still exist? (The server says nothing else when it is gone.)
            let quiet = silent || idle % IDLE_CHECK == IDLE_CHECK - 1;
            if status.is_some() || quiet {
                match check_consumer(&mut consumer, quiet).await {
                    Ok(()) => {}
                    Err(Check::Lost(why)) => return Err(NatsError::Lost(why)),
                    Err(Check::Nats(e)) => return Err(e),
                    Err(Check::Wedged {
                        pending,
                        next_sequence,
                    }) => {
                        stream.delete_consumer(&c.durable).await.map_err(nats_err)?;
                        resume.next_sequence = (next_sequence > 1).then_some(next_sequence);
                        return Err(NatsError::Lost(format!(
                            "{pending} messages pending and none delivered: deleted to be created again"
                        )));
                    }
                }
            }
            if !msgs.is_empty() {
                let acked = self.handle(ctx, pipeline, &msgs).await?;
                if let Some(seq) = acked {
                    let next = resume.next_sequence.unwrap_or(0).max(seq + 1);
                    resume.next_sequence = Some(next);
                }
            }
            if let Some(e) = status {
                tracing::debug!("nats source {}: fetch ended with {e}", c.source);
                if msgs.is_empty() {
                    tokio::select! {
                        _ = ctx.cancel.cancelled() => {}
                        _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// Scans a batch, waits until its events are written, then acks it;
    /// returns the highest stream sequence acked.
    async fn handle(
        &self,
        ctx: &mut SourceContext,
        pipeline: &mut Pipeline,
        msgs: &[jetstream::Message],
    ) -> Result<Option<u64>, NatsError> {
        let mut records = Records::default();
        let (mut redelivered, mut pending) = (0u64, 0u64);
        let mut last = None;
        for m in msgs {
            records.append(bodies::decode(
                &m.payload,
                self.cfg.message_field.as_deref(),
            ));
            if let Ok(info) = m.info() {
                redelivered += u64::from(info.delivered > 1);
                pending = info.pending;
                last = last.max(Some(info.stream_sequence));
            }
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        // Queueing may wait for room (back-pressure): off the I/O thread.
        let queued = tokio::task::block_in_place(|| {
            records
                .scan(pipeline, &mut ctx.feed(&self.cfg.source))
                .is_ok()
                && ctx.emitter.send(SinkMsg::Ack(tx)).is_ok()
        });
        self.m
            .batch(&self.cfg.source, msgs.len() as u64, redelivered, pending);
        if !queued {
            return Err(NatsError::SinkClosed);
        }
        // Acked only once written: a crash before this redelivers the batch.
        if rx.await.is_err() {
            return Err(NatsError::SinkClosed);
        }
        for m in msgs {
            m.ack().await.map_err(nats_err)?;
        }
        Ok(last)
    }
}

/// The messages' records, for tests: what a batch of payloads becomes.
#[cfg(test)]
fn records_of(payloads: &[&[u8]], field: Option<&str>) -> Records {
    let mut all = Records::default();
    for p in payloads {
        all.append(bodies::decode(p, field));
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consumer_resumes_on_the_same_stream_only() {
        use jetstream::consumer::DeliverPolicy as P;
        let mut r = Resume::default();
        assert!(matches!(r.policy("t1", 0), P::All));
        r.stream_created = Some("t1".into());
        r.next_sequence = Some(401);
        assert!(matches!(
            r.policy("t1", 400),
            P::ByStartSequence {
                start_sequence: 401
            }
        ));
        // A stream created anew: read from its start, even when the first
        // bind of it failed and is tried again.
        assert!(matches!(r.policy("t2", 0), P::All));
        assert!(matches!(r.policy("t2", 0), P::All));
        // The same stream seen with fewer messages than were acked (its
        // sequence numbers started again): from its start too.
        r.stream_created = Some("t3".into());
        r.next_sequence = Some(401);
        assert!(matches!(r.policy("t3", 100), P::All));
        assert_eq!(r.next_sequence, None);
    }

    #[test]
    fn fluent_bit_and_vector_payloads_become_records() {
        // Fluent Bit's nats output: a JSON array [time, record].
        let fb: &[u8] = br#"[1700000000.0, {"log": "RtcError: x <ICE_TRANSPORT_ERROR 0x4003>"}]"#;
        // Vector's nats sink with codec json: the event object.
        let vector: &[u8] = br#"{"message":"a line","timestamp":"2026-01-01T00:00:00Z"}"#;
        let text: &[u8] = b"plain text line";
        let out = records_of(&[fb, vector, text], None);
        assert_eq!(out.starts.as_ref().map(Vec::len), Some(3));
        let s = String::from_utf8(out.text).unwrap();
        assert!(s.contains("<ICE_TRANSPORT_ERROR 0x4003>"), "{s}");
        assert!(
            s.contains("a line\n") && s.ends_with("plain text line\n"),
            "{s}"
        );
    }
}
