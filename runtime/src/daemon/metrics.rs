//! `shoal daemon --metrics ADDR`: the daemon's counters and gauges in the
//! Prometheus text exposition format (0.0.4), encoded by the
//! prometheus-client crate and served on `GET /metrics` by a small HTTP/1.1
//! responder on a thread of its own (one request at a time is plenty for a
//! scraper, and it needs no async runtime).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `shoal_alarm_ticks_total` | counter | alarm |
//! | `shoal_alarm_query_duration_seconds` | histogram | alarm |
//! | `shoal_alarm_query_hosts` | gauge: hosts of the last tick by `status` | alarm, status |
//! | `shoal_alarm_hosts` | gauge: hosts by alarm state | alarm, state |
//! | `shoal_bot_actions_total` | counter: hosts acted on, by how it ended | bot, status |
//! | `shoal_bot_breaker_trips_total` | counter | bot |
//! | `shoal_store_write_errors_total` | counter | |
//! | `shoal_notify_failures_total` | counter | |

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text::{CONTENT_TYPE, encode};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AlarmLabel {
    pub alarm: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AlarmStatus {
    pub alarm: String,
    pub status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AlarmState {
    pub alarm: String,
    pub state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BotStatus {
    pub bot: String,
    pub status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BotLabel {
    pub bot: String,
}

type QueryHistogram = Family<AlarmLabel, Histogram, fn() -> Histogram>;

/// Every metric the daemon keeps, and the registry that encodes them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub ticks: Family<AlarmLabel, Counter>,
    pub query_seconds: QueryHistogram,
    pub query_hosts: Family<AlarmStatus, Gauge>,
    pub hosts: Family<AlarmState, Gauge>,
    pub actions: Family<BotStatus, Counter>,
    pub breaker_trips: Family<BotLabel, Counter>,
    pub store_write_errors: Counter,
    pub notify_failures: Counter,
}

/// Query latency buckets: 50 ms to about 50 s, doubling, since a query
/// over a warm pool takes tens of milliseconds and one that waits on a
/// timeout takes its whole length.
fn query_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.05, 2.0, 11))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut metrics = Metrics {
            registry: Registry::default(),
            ticks: Family::default(),
            query_seconds: Family::new_with_constructor(query_histogram),
            query_hosts: Family::default(),
            hosts: Family::default(),
            actions: Family::default(),
            breaker_trips: Family::default(),
            store_write_errors: Counter::default(),
            notify_failures: Counter::default(),
        };
        let registry = &mut metrics.registry;
        registry.register(
            "shoal_alarm_ticks",
            "Alarm evaluations",
            metrics.ticks.clone(),
        );
        registry.register_with_unit(
            "shoal_alarm_query_duration",
            "How long each alarm's query took",
            Unit::Seconds,
            metrics.query_seconds.clone(),
        );
        registry.register(
            "shoal_alarm_query_hosts",
            "Hosts in the last tick of each alarm, by the status of their row",
            metrics.query_hosts.clone(),
        );
        registry.register(
            "shoal_alarm_hosts",
            "Hosts of each alarm by alarm state (ok, pending, firing, resolving, unknown)",
            metrics.hosts.clone(),
        );
        registry.register(
            "shoal_bot_actions",
            "Hosts a bot acted on, by how the action ended",
            metrics.actions.clone(),
        );
        registry.register(
            "shoal_bot_breaker_trips",
            "Hosts on which a bot's breaker tripped",
            metrics.breaker_trips.clone(),
        );
        registry.register(
            "shoal_store_write_errors",
            "Writes to the job store that failed",
            metrics.store_write_errors.clone(),
        );
        registry.register(
            "shoal_notify_failures",
            "notify commands that failed or timed out (each try)",
            metrics.notify_failures.clone(),
        );
        metrics
    }
}

impl Metrics {
    /// The metrics in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }

    /// Serves `GET /metrics` on `addr`, from a thread of its own, for as
    /// long as the process lives. The address it listens on (the port is
    /// the system's choice with port 0).
    pub fn serve(self: &Arc<Self>, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let listener = TcpListener::bind(addr)?;
        let bound = listener.local_addr()?;
        let metrics = self.clone();
        std::thread::Builder::new()
            .name("shoal-metrics".into())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    // A scraper that misbehaves costs one request, never the thread.
                    let _ = respond(&metrics, stream);
                }
            })?;
        Ok(bound)
    }
}

/// How long a client may take to send its request: a connection that
/// says nothing must not hold the only serving thread.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

fn respond(metrics: &Metrics, stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // The headers, up to the blank line; nothing in them matters here.
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let mut words = request.split_whitespace();
    let (status, content_type, body) = match (words.next(), words.next()) {
        (Some("GET"), Some("/metrics")) => ("200 OK", CONTENT_TYPE, metrics.encode()),
        (Some("GET"), _) => (
            "404 Not Found",
            "text/plain",
            "shoal serves /metrics\n".to_string(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "only GET\n".to_string(),
        ),
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn serves_the_metrics_in_prometheus_text() {
        let metrics = Arc::new(Metrics::default());
        let label = AlarmLabel {
            alarm: "app".into(),
        };
        metrics.ticks.get_or_create(&label).inc();
        metrics.query_seconds.get_or_create(&label).observe(0.2);
        metrics.store_write_errors.inc();
        let addr = metrics.serve("127.0.0.1:0".parse().unwrap()).unwrap();
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(response.contains("text/plain; version=0.0.4"), "{response}");
        for line in [
            "# TYPE shoal_alarm_ticks_total counter",
            "shoal_alarm_ticks_total{alarm=\"app\"} 1",
            "shoal_alarm_query_duration_seconds_count{alarm=\"app\"} 1",
            "shoal_store_write_errors_total 1",
        ] {
            assert!(response.contains(line), "{line}:\n{response}");
        }
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 404"), "{response}");
    }
}
