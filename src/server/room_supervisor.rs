//! The room supervisor: parent of every room actor on this node.
//!
//! ractor's default supervisor stops when a child dies; this one restarts a room that panicked,
//! in place and under the same name: the new room recovers its members from the relay, tells them
//! it restarted, and the registry is told where it now lives. A room that keeps failing (more than
//! [`MAX_RESTARTS`] times in [`RESTART_WINDOW`]) is closed instead. A room that stops normally
//! (it became empty) is reported to the registry, which forgets it.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, SpawnErr, SupervisionEvent};

use crate::protocol::Event;
use crate::server::cluster::directory;
use crate::server::msg::registry::RegistryMsg;
use crate::server::msg::relay::RelayMsg;
use crate::server::msg::room::RoomMsg;
use crate::server::msg::room_supervisor::{RoomArgs, RoomSupervisorMsg};
use crate::server::room::Room;

/// Restarts allowed per room within [`RESTART_WINDOW`] before the room is closed.
pub const MAX_RESTARTS: usize = 5;
/// The window over which restarts are counted.
pub const RESTART_WINDOW: Duration = Duration::from_secs(60);

struct Child {
    args: RoomArgs,
    restarts: VecDeque<Instant>,
}

/// The room supervisor actor.
pub struct RoomSupervisor;

/// The supervisor's state: the spec of every live room, by actor id.
pub struct RoomSupervisorState {
    children: HashMap<ActorId, Child>,
}

async fn spawn(
    myself: &ActorRef<RoomSupervisorMsg>,
    args: RoomArgs,
) -> Result<ActorRef<RoomMsg>, SpawnErr> {
    let name = directory::room_actor_name(&args.name, &args.node, args.incarnation);
    let (room, _) = Actor::spawn_linked(Some(name), Room, args, myself.get_cell()).await?;
    Ok(room)
}

impl Actor for RoomSupervisor {
    type Msg = RoomSupervisorMsg;
    type State = RoomSupervisorState;
    type Arguments = ();

    async fn pre_start(
        &self,
        _myself: ActorRef<RoomSupervisorMsg>,
        _args: (),
    ) -> Result<RoomSupervisorState, ActorProcessingErr> {
        Ok(RoomSupervisorState {
            children: HashMap::new(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<RoomSupervisorMsg>,
        message: RoomSupervisorMsg,
        state: &mut RoomSupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            RoomSupervisorMsg::Spawn(args, reply) => {
                let result = spawn(&myself, args.clone()).await;
                if let Ok(room) = &result {
                    state.children.insert(
                        room.get_id(),
                        Child {
                            args,
                            restarts: VecDeque::new(),
                        },
                    );
                }
                let _ = reply.send(result.map_err(|e| e.to_string()));
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<RoomSupervisorMsg>,
        event: SupervisionEvent,
        state: &mut RoomSupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                if let Some(child) = state.children.remove(&cell.get_id()) {
                    tracing::debug!(room = %child.args.name, ?reason, "room stopped");
                    let _ = child.args.registry.cast(RegistryMsg::RoomClosed {
                        name: child.args.name,
                        id: cell.get_id(),
                    });
                }
            }
            SupervisionEvent::ActorFailed(cell, error) => {
                let Some(mut child) = state.children.remove(&cell.get_id()) else {
                    return Ok(());
                };
                tracing::error!(room = %child.args.name, %error, "room failed");
                let now = Instant::now();
                while child
                    .restarts
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > RESTART_WINDOW)
                {
                    child.restarts.pop_front();
                }
                let registry = child.args.registry.clone();
                let relay = child.args.relay.clone();
                let name = child.args.name.clone();
                let restarted = if child.restarts.len() < MAX_RESTARTS {
                    child.restarts.push_back(now);
                    let args = RoomArgs {
                        restore: true,
                        ..child.args.clone()
                    };
                    match spawn(&myself, args).await {
                        Ok(room) => {
                            state.children.insert(room.get_id(), child);
                            Some(room)
                        }
                        Err(e) => {
                            tracing::error!(room = %name, error = %e, "room could not be restarted");
                            None
                        }
                    }
                } else {
                    tracing::error!(room = %name, "room failed too often; closing it");
                    None
                };
                match restarted {
                    Some(room) => {
                        let _ = registry.cast(RegistryMsg::RoomRestarted { name, room });
                    }
                    None => {
                        let _ = relay.cast(RelayMsg::DropRoom {
                            room: name.clone(),
                            notice: Event::Notice {
                                room: Some(name.clone()),
                                text: "this room failed repeatedly and was closed".into(),
                            },
                        });
                        let _ = registry.cast(RegistryMsg::RoomClosed {
                            name,
                            id: cell.get_id(),
                        });
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}
