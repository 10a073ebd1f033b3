//! A node's real relay, room supervisor, registry and rooms, run in this process (no socket): the
//! cases that a client over TCP can only reach through a race.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chatd::server::cluster::directory;
use chatd::server::config::{Config, Overrides};
use chatd::server::context::{Live, Tunables};
use chatd::server::front::Format;
use chatd::server::msg::gateway::RoomCreation;
use chatd::server::msg::member::MemberAddr;
use chatd::server::msg::registry::RegistryMsg;
use chatd::server::msg::relay::RelayMsg;
use chatd::server::msg::room::{Post, RoomMsg};
use chatd::server::outbound;
use chatd::server::registry::{Registry, RegistryArgs};
use chatd::server::relay::{Relay, RelayArgs};
use chatd::server::room_supervisor::RoomSupervisor;
use chatd::server::stats::Stats;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use ractor_cluster::RactorMessage;

/// Stands for a session actor: the relay only needs a live actor to register a queue for.
struct Idle;

#[derive(RactorMessage)]
enum Nothing {}

impl Actor for Idle {
    type Msg = Nothing;
    type State = ();
    type Arguments = ();

    async fn pre_start(
        &self,
        _myself: ActorRef<Nothing>,
        _args: (),
    ) -> Result<(), ActorProcessingErr> {
        Ok(())
    }
}

#[test]
fn a_post_the_room_refuses_is_answered_not_dropped() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let node = "rooms-test-node";
        let config =
            Config::load_with_env(None, Some(HashMap::new()), &Overrides::default()).unwrap();
        let mut tunables = Tunables::of(&config);
        tunables.rooms.default_rooms.clear();
        let relay_args = RelayArgs {
            node: node.into(),
            stats: Arc::new(Stats::default()),
            history: 10,
        };
        let (relay, _) = Actor::spawn(None, Relay, relay_args).await.unwrap();
        let (room_supervisor, _) = Actor::spawn(None, RoomSupervisor, ()).await.unwrap();
        let registry_args = RegistryArgs {
            node: node.into(),
            store: None,
            tunables: Arc::new(Live::new(tunables)),
            relay: relay.clone(),
            room_supervisor,
            clustered: false,
        };
        let (registry, _) = Actor::spawn(None, Registry, registry_args).await.unwrap();

        // A session of this node with a queue, in no room.
        let (session, _) = Actor::spawn(None, Idle, ()).await.unwrap();
        let bound = outbound::Bound {
            messages: 16,
            bytes: 1 << 20,
        };
        let (queue, mut rx) = outbound::channel(bound, Format::Line);
        relay
            .cast(RelayMsg::Register {
                session: session.get_cell().into(),
                outbound: queue,
                peer: "127.0.0.1:1".into(),
            })
            .unwrap();
        let name = "rooms-test-moved";
        let creation = RoomCreation {
            name: name.into(),
            unlisted: false,
            replacing: None,
        };
        let created = ractor::call_t!(registry, RegistryMsg::CreateLocal, 5000, creation);
        assert!(matches!(created, Ok(true)), "{created:?}");
        let room: ActorRef<RoomMsg> = directory::room_winner(name).expect("the room is visible");

        // The session believes it is a member; the room does not know it.
        let post = Post {
            from: MemberAddr {
                node: node.into(),
                session: session.get_id().pid(),
            },
            text: "hello?".into(),
            action: false,
        };
        room.cast(RoomMsg::Post(post)).unwrap();
        let mut batch = VecDeque::new();
        tokio::time::timeout(Duration::from_secs(10), rx.recv_all(&mut batch))
            .await
            .expect("the sender hears back");
        let line = String::from_utf8_lossy(&batch[0]).to_string();
        assert!(line.starts_with("! not_in_room:"), "{line:?}");
        assert!(line.contains("was not delivered"), "{line:?}");
        let info = ractor::call_t!(room, RoomMsg::Info, 5000).unwrap();
        assert_eq!(info.messages, 0, "the refused post was not numbered");
    });
}
