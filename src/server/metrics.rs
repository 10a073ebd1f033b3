//! The Prometheus endpoint (`[metrics] listen`, off by default): `GET /metrics` answers in the
//! OpenMetrics text format, gathered from the node's counters and actors at each scrape, so that
//! nothing on the chat path pays for metrics it does not already keep.
//!
//! | metric | type | what |
//! |---|---|---|
//! | `chatd_sessions{protocol}` | gauge | sessions on this node by front (`line`, `frame`, `web`) |
//! | `chatd_send_queue_bytes` | gauge | bytes waiting in this node's send queues |
//! | `chatd_rooms_hosted` | gauge | rooms hosted on this node |
//! | `chatd_rooms` | gauge | rooms in the cluster, as this node sees them |
//! | `chatd_messages_in_total` | counter | messages said by this node's users |
//! | `chatd_messages_out_total` | counter | deliveries of messages to this node's users |
//! | `chatd_cut_offs_total{reason}` | counter | sessions the server disconnected, by error code |
//! | `chatd_cluster_peers_up` | gauge | other nodes connected |
//! | `chatd_room_failovers_total` | counter | rooms this node re-created after their host died |
//! | `chatd_resident_memory_bytes` | gauge | the process's resident memory |

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::protocol::NodeStatus;
use crate::server::cluster::directory;
use crate::server::context::NodeContext;
use crate::server::front::Format;
use crate::server::msg::membership::MembershipMsg;
use crate::server::msg::registry::RegistryMsg;
use crate::server::msg::relay::{Load, RelayMsg};
use crate::server::timeouts::ADMIN_CALL_MS;

/// The content type of the OpenMetrics text format.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serves `GET /metrics` on `listener` until `stop`.
pub async fn run(listener: TcpListener, ctx: Arc<NodeContext>, stop: CancellationToken) {
    let app = Router::new().route("/metrics", get(scrape)).with_state(ctx);
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    if let Err(e) = axum::serve(listener, service)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
    {
        tracing::error!(error = %e, "the metrics endpoint stopped");
    }
}

async fn scrape(State(ctx): State<Arc<NodeContext>>) -> Response {
    let snapshot = Snapshot::gather(&ctx).await;
    match snapshot.encode() {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// The node's numbers at one scrape.
#[derive(Debug, Default)]
struct Snapshot {
    load: Load,
    rooms_hosted: u64,
    rooms: u64,
    messages_in: u64,
    messages_out: u64,
    cut_offs: Vec<(&'static str, u64)>,
    peers_up: u64,
    failovers: u64,
    rss_bytes: u64,
}

impl Snapshot {
    /// Asks the counters and actors; an actor that does not answer in time counts as zero.
    async fn gather(ctx: &NodeContext) -> Snapshot {
        let (messages_in, messages_out) = ctx.stats.totals();
        let load =
            ractor::call_t!(ctx.local.relay, RelayMsg::Load, ADMIN_CALL_MS).unwrap_or_default();
        let rooms_hosted =
            ractor::call_t!(ctx.local.registry, RegistryMsg::ListRooms, ADMIN_CALL_MS)
                .map_or(0, |rooms| rooms.len() as u64);
        let peers_up = match &ctx.membership {
            Some(m) => ractor::call_t!(m, MembershipMsg::Nodes, ADMIN_CALL_MS).map_or(0, |nodes| {
                nodes.iter().filter(|n| n.status == NodeStatus::Up).count() as u64
            }),
            None => 0,
        };
        Snapshot {
            load,
            rooms_hosted,
            rooms: directory::rooms().len() as u64,
            messages_in,
            messages_out,
            cut_offs: ctx.stats.cut_offs(),
            peers_up,
            failovers: ctx.stats.failovers(),
            rss_bytes: crate::server::stats::rss_kib(std::process::id()).unwrap_or(0) * 1024,
        }
    }

    /// The snapshot in the OpenMetrics text format.
    fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut registry = Registry::with_prefix("chatd");
        let sessions = Family::<[(&'static str, &'static str); 1], Gauge>::default();
        for format in Format::ALL {
            sessions
                .get_or_create(&[("protocol", format.name())])
                .set(self.load.sessions[format.index()] as i64);
        }
        registry.register(
            "sessions",
            "Sessions connected to this node, by front",
            sessions,
        );
        let gauge = |value: u64| {
            let g = Gauge::<i64>::default();
            g.set(value as i64);
            g
        };
        let counter = |value: u64| {
            let c = Counter::<u64>::default();
            c.inc_by(value);
            c
        };
        registry.register(
            "send_queue_bytes",
            "Bytes waiting in this node's send queues",
            gauge(self.load.queued_bytes),
        );
        registry.register(
            "rooms_hosted",
            "Rooms hosted on this node",
            gauge(self.rooms_hosted),
        );
        registry.register(
            "rooms",
            "Rooms in the cluster, as this node sees them",
            gauge(self.rooms),
        );
        registry.register(
            "messages_in",
            "Messages said by this node's users",
            counter(self.messages_in),
        );
        registry.register(
            "messages_out",
            "Deliveries of messages to this node's users",
            counter(self.messages_out),
        );
        let cut_offs = Family::<[(&'static str, &'static str); 1], Counter>::default();
        for (reason, count) in &self.cut_offs {
            cut_offs.get_or_create(&[("reason", reason)]).inc_by(*count);
        }
        registry.register(
            "cut_offs",
            "Sessions the server disconnected, by the error code they were sent",
            cut_offs,
        );
        registry.register(
            "cluster_peers_up",
            "Other nodes of the cluster connected to this one",
            gauge(self.peers_up),
        );
        registry.register(
            "room_failovers",
            "Rooms this node re-created after their host died",
            counter(self.failovers),
        );
        registry.register(
            "resident_memory_bytes",
            "Resident memory of the chatd process",
            gauge(self.rss_bytes),
        );
        let mut text = String::new();
        encode(&mut text, &registry)?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_in_the_exposition() {
        let snapshot = Snapshot {
            load: Load {
                sessions: [3, 2, 1, 4],
                queued_bytes: 42,
            },
            cut_offs: vec![("send_queue_exceeded", 2)],
            messages_in: 7,
            ..Snapshot::default()
        };
        let text = snapshot.encode().unwrap();
        for line in [
            "chatd_sessions{protocol=\"line\"} 3",
            "chatd_sessions{protocol=\"web\"} 1",
            "chatd_sessions{protocol=\"irc\"} 4",
            "chatd_send_queue_bytes 42",
            "chatd_messages_in_total 7",
            "chatd_cut_offs_total{reason=\"send_queue_exceeded\"} 2",
            "chatd_room_failovers_total 0",
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
        }
    }
}
