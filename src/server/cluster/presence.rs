//! Questions about the users of this node, answered the same way for a local session and for a
//! peer's gateway: who holds a nick here (the registry), and what its session is doing (the
//! relay) — deliver it a private message, show it for `/whois`; and where a nick is held when
//! this node's registry does not know ([`resolve`]).

use ractor::ActorRef;

use crate::protocol::Event;
use crate::server::msg::gateway::{GatewayMsg, GrantedTo, NickQuery, Presence, PrivateReceipt};
use crate::server::msg::registry::{NickHolder, RegistryMsg};
use crate::server::msg::relay::RelayMsg;

/// Completes the registry's answer: [`NickHolder::AskHome`] becomes the node the nick's home
/// granted it to ([`NickHolder::Remote`]), or [`NickHolder::Missing`]; other answers stay.
pub async fn resolve(holder: NickHolder, nick: &str, timeout_ms: u64) -> NickHolder {
    let NickHolder::AskHome(home) = holder else {
        return holder;
    };
    let query = NickQuery(crate::names::nick_key(nick));
    match ractor::call_t!(home, GatewayMsg::NickHome, timeout_ms, query) {
        Ok(GrantedTo(Some(node))) => NickHolder::Remote(node),
        _ => NickHolder::Missing,
    }
}

/// The session number of the holder of `nick` on this node, if one here holds it.
async fn holder(registry: &ActorRef<RegistryMsg>, nick: &str, timeout_ms: u64) -> Option<u64> {
    match ractor::call_t!(
        registry,
        RegistryMsg::LookupNick,
        timeout_ms,
        nick.to_string()
    ) {
        Ok(NickHolder::Local(member)) => Some(member.addr.session),
        _ => None,
    }
}

/// Delivers a private `event` to the holder of `nick` on this node.
pub async fn deliver(
    registry: &ActorRef<RegistryMsg>,
    relay: &ActorRef<RelayMsg>,
    nick: &str,
    event: Event,
    timeout_ms: u64,
) -> PrivateReceipt {
    let Some(session) = holder(registry, nick, timeout_ms).await else {
        return PrivateReceipt::default();
    };
    ractor::call_t!(relay, RelayMsg::Private, timeout_ms, session, event).unwrap_or_default()
}

/// The holder of `nick` on this node, as `/whois` shows it.
pub async fn whois(
    registry: &ActorRef<RegistryMsg>,
    relay: &ActorRef<RelayMsg>,
    nick: &str,
    timeout_ms: u64,
) -> Option<Presence> {
    let session = holder(registry, nick, timeout_ms).await?;
    ractor::call_t!(relay, RelayMsg::Presence, timeout_ms, session)
        .ok()
        .flatten()
}
