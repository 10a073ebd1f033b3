//! Telling systemd (or any supervisor that sets `NOTIFY_SOCKET`) how the service is doing:
//! `READY=1` once the client port is served, `STATUS=` with a short summary, `RELOADING=1` then
//! `READY=1` around a reload, `STOPPING=1` at shutdown, and `WATCHDOG=1` pings when the unit sets
//! `WatchdogSec=`. Without `NOTIFY_SOCKET` every call does nothing.

use std::sync::Arc;
use std::time::Duration;

use ractor::ActorStatus;
use sd_notify::NotifyState;
use tokio_util::sync::CancellationToken;

use crate::server::context::NodeContext;
use crate::server::msg::registry::RegistryMsg;
use crate::server::msg::relay::RelayMsg;
use crate::server::timeouts::STATUS_CALL_MS;

/// How often `STATUS=` is refreshed.
const STATUS_EVERY: Duration = Duration::from_secs(5);

fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "cannot notify the service manager");
    }
}

/// The service is up and serving.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// A reload starts (systemd ≥ 253 requires the monotonic time with it).
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

/// A reload is done.
pub fn reloaded() {
    send(&[NotifyState::Ready]);
}

/// Shutdown starts.
pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("shutting down")]);
}

/// Refreshes `STATUS=` and, when the unit has `WatchdogSec=`, pings the watchdog at half its
/// period — only while the relay and registry are alive, so a wedged node gets restarted.
pub async fn keep_informed(ctx: Arc<NodeContext>, stop: CancellationToken) {
    let watchdog = sd_notify::watchdog_enabled().map(|period| period / 2);
    let tick = watchdog.map_or(STATUS_EVERY, |half| half.min(STATUS_EVERY));
    let mut ticker = tokio::time::interval(tick);
    let mut last_status = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let alive = [
            ctx.local.relay.get_status(),
            ctx.local.registry.get_status(),
        ]
        .iter()
        .all(|s| *s == ActorStatus::Running);
        if watchdog.is_some() && alive {
            send(&[NotifyState::Watchdog]);
        }
        if last_status.elapsed() >= STATUS_EVERY {
            last_status = tokio::time::Instant::now();
            let sessions = ractor::call_t!(ctx.local.relay, RelayMsg::Sessions, STATUS_CALL_MS)
                .map(|s| s.len());
            let rooms = ractor::call_t!(ctx.local.registry, RegistryMsg::ListRooms, STATUS_CALL_MS)
                .map(|r| r.len());
            if let (Ok(sessions), Ok(rooms)) = (sessions, rooms) {
                let status = format!("{sessions} sessions, {rooms} rooms hosted");
                send(&[NotifyState::Status(&status)]);
            }
        }
    }
}
