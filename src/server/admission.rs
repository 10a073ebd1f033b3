//! Admission to the client fronts: `limits.max_connections` in all and
//! `limits.max_connections_per_ip` per address, counted together for the client port and the web
//! front, so that a stranger cannot take twice the share by using both.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::server::context::Admission;

/// The connections every client front holds.
#[derive(Debug)]
pub struct Admissions {
    permits: Arc<Semaphore>,
    max: usize,
    per_address: Arc<PerAddress>,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// `limits.max_connections` connections are open.
    ServerFull(usize),
    /// `limits.max_connections_per_ip` connections are open from the address.
    TooManyFromAddress(usize),
}

impl Denied {
    /// What the client is told, after `server_full:`.
    pub fn message(self) -> String {
        match self {
            Denied::ServerFull(max) => {
                format!("the server is full ({max} connections); try again later")
            }
            Denied::TooManyFromAddress(limit) => format!(
                "too many connections from your address ({limit}, limits.max_connections_per_ip); try again later"
            ),
        }
    }
}

/// One admitted connection's places, given back when dropped.
#[derive(Debug)]
pub struct Ticket {
    _permit: OwnedSemaphorePermit,
    _slot: Option<AddressSlot>,
}

impl Admissions {
    /// Counters for at most `max` connections (`limits.max_connections`, fixed until restart).
    pub fn new(max: usize) -> Admissions {
        Admissions {
            permits: Arc::new(Semaphore::new(max)),
            max,
            per_address: Arc::new(PerAddress::default()),
        }
    }

    /// Admits a connection from `ip` under the per-address `limits` in force.
    pub fn admit(&self, ip: IpAddr, limits: &Admission) -> Result<Ticket, Denied> {
        let slot = self
            .per_address
            .admit(ip, limits)
            .map_err(Denied::TooManyFromAddress)?;
        let permit = self
            .permits
            .clone()
            .try_acquire_owned()
            .map_err(|_| Denied::ServerFull(self.max))?;
        Ok(Ticket {
            _permit: permit,
            _slot: slot,
        })
    }
}

/// How many connections each client address has.
#[derive(Debug, Default)]
struct PerAddress(Mutex<HashMap<IpAddr, usize>>);

/// One connection's place in its address's count.
#[derive(Debug)]
struct AddressSlot {
    counts: Arc<PerAddress>,
    ip: IpAddr,
}

impl PerAddress {
    /// Counts a connection from `ip`: its slot (`None` for an exempt address), or the limit it
    /// would exceed.
    fn admit(
        self: &Arc<Self>,
        ip: IpAddr,
        limits: &Admission,
    ) -> Result<Option<AddressSlot>, usize> {
        let ip = ip.to_canonical();
        if limits.exempt.iter().any(|net| net.contains(ip)) {
            return Ok(None);
        }
        let Ok(mut counts) = self.0.lock() else {
            return Ok(None);
        };
        let count = counts.entry(ip).or_default();
        if *count >= limits.per_ip {
            return Err(limits.per_ip);
        }
        *count += 1;
        Ok(Some(AddressSlot {
            counts: self.clone(),
            ip,
        }))
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.counts.0.lock()
            && let Some(count) = counts.get_mut(&self.ip)
        {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::config::Network;

    #[test]
    fn limits_per_address_and_in_all_and_frees_on_drop() {
        let limits = Admission {
            per_ip: 2,
            exempt: vec![Network::parse("10.9.0.0/16").unwrap()],
        };
        let admissions = Admissions::new(4);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let first = admissions.admit(a, &limits).unwrap();
        let _second = admissions.admit(a, &limits).unwrap();
        assert_eq!(
            admissions.admit(a, &limits).unwrap_err(),
            Denied::TooManyFromAddress(2)
        );
        drop(first);
        let _third = admissions.admit(a, &limits).unwrap();
        // Exempt addresses count only toward the total.
        let exempt: IpAddr = "10.9.1.1".parse().unwrap();
        let _x = admissions.admit(exempt, &limits).unwrap();
        let _y = admissions.admit(exempt, &limits).unwrap();
        assert_eq!(
            admissions.admit(exempt, &limits).unwrap_err(),
            Denied::ServerFull(4)
        );
    }
}
