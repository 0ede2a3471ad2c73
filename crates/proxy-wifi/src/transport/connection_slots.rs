//! The cap on open request connections, shared fairly between guests.
//!
//! At most `cap` request connections are open at once. While there is room, any guest
//! gets one. When all are taken, a guest holding fewer than its fair share (the cap
//! divided by the guests holding connections, itself included) takes the oldest
//! connection of the guest holding the most, which is closed; a guest at or above its
//! share is refused. One guest's idle connections never lock the others out.
//!
//! The cap also stays below what `RLIMIT_NOFILE` allows once fds are kept in reserve for
//! notifications and backends ([`cap_for_fd_limit`]).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use super::GuestId;
use crate::limits::{FD_RESERVE_BACKENDS, FD_RESERVE_NOTIFICATIONS};

/// Closes a connection no task watches (the direct path) when its place is taken back.
pub(crate) type CloseOnTakeBack = Box<dyn FnOnce() + Send>;

/// One place held: its id, the token cancelled when it is taken back, and what closes its
/// connection then, when no task watches the token.
struct Place {
    id: u64,
    taken_back: CancellationToken,
    close: Option<CloseOnTakeBack>,
}

/// The connections open now, by guest (oldest first).
#[derive(Default)]
struct Open {
    count: usize,
    next_id: u64,
    by_guest: HashMap<GuestId, VecDeque<Place>>,
}

impl Open {
    fn add(&mut self, guest: &GuestId, inner: &Arc<Mutex<Open>>) -> Slot {
        let id = self.next_id;
        self.next_id += 1;
        let taken_back = CancellationToken::new();
        self.by_guest.entry(guest.clone()).or_default().push_back(Place {
            id,
            taken_back: taken_back.clone(),
            close: None,
        });
        self.count += 1;
        Slot { guest: guest.clone(), id, taken_back, open: inner.clone() }
    }
}

/// Shares the request connection cap between guests.
pub(crate) struct ConnectionSlots {
    cap: usize,
    open: Arc<Mutex<Open>>,
}

/// One open connection's place under the cap; freed when dropped.
pub(crate) struct Slot {
    guest: GuestId,
    id: u64,
    taken_back: CancellationToken,
    open: Arc<Mutex<Open>>,
}

impl Slot {
    /// Cancelled when a guest below its fair share took this place: close the connection.
    pub(crate) fn taken_back(&self) -> &CancellationToken {
        &self.taken_back
    }

    /// The guest holding this place.
    pub(crate) fn guest(&self) -> &GuestId {
        &self.guest
    }

    /// Runs `close` when a guest below its fair share takes this place (for a connection
    /// no task watches): the connection is closed at once, not when its turn comes.
    #[cfg_attr(not(unix), allow(dead_code))]
    pub(crate) fn on_taken_back(&self, close: CloseOnTakeBack) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let place = open.by_guest.get_mut(&self.guest).and_then(|held| held.iter_mut().find(|p| p.id == self.id));
        match place {
            Some(place) => place.close = Some(close),
            // Taken back already.
            None => {
                drop(open);
                close();
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let Some(held) = open.by_guest.get_mut(&self.guest) else { return };
        let Some(index) = held.iter().position(|place| place.id == self.id) else { return };
        held.remove(index);
        if held.is_empty() {
            open.by_guest.remove(&self.guest);
        }
        open.count -= 1;
    }
}

/// What [`ConnectionSlots::admit`] decided.
pub(crate) enum Admission {
    /// Room was free.
    Admitted(Slot),
    /// The place of the oldest connection of this guest (above its fair share) was taken.
    TookFrom(Slot, GuestId),
    /// The guest already holds its fair share and no room is free.
    Refused,
}

impl ConnectionSlots {
    /// At most `cap` connections (at least 1).
    pub(crate) fn new(cap: usize) -> Self {
        Self { cap: cap.max(1), open: Arc::default() }
    }

    /// The cap in force.
    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    /// A place for a new connection of `guest`.
    pub(crate) fn admit(&self, guest: &GuestId) -> Admission {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.count < self.cap {
            return Admission::Admitted(open.add(guest, &self.open));
        }
        let holders = open.by_guest.len() + usize::from(!open.by_guest.contains_key(guest));
        let share = (self.cap / holders).max(1);
        let mine = open.by_guest.get(guest).map_or(0, VecDeque::len);
        if mine >= share {
            return Admission::Refused;
        }
        let Some(victim) = open.by_guest.iter().max_by_key(|(_, held)| held.len()).map(|(g, _)| g.clone()) else {
            return Admission::Refused;
        };
        let held = open.by_guest.get_mut(&victim).expect("the victim holds connections");
        if held.len() <= mine + 1 {
            return Admission::Refused;
        }
        let place = held.pop_front().expect("the victim holds connections");
        place.taken_back.cancel();
        open.count -= 1;
        let admitted = Admission::TookFrom(open.add(guest, &self.open), victim);
        drop(open);
        if let Some(close) = place.close {
            close();
        }
        admitted
    }
}

/// The connection cap that fits in a soft `RLIMIT_NOFILE` of `fd_limit` once fds are kept
/// for the backends and for notifications: `configured`, or less.
#[cfg_attr(not(unix), allow(dead_code))]
pub(crate) fn cap_for_fd_limit(configured: usize, fd_limit: u64) -> usize {
    let fd_limit = usize::try_from(fd_limit).unwrap_or(usize::MAX);
    let room = fd_limit.saturating_sub(FD_RESERVE_BACKENDS + FD_RESERVE_NOTIFICATIONS);
    configured.min(room).max(1)
}

/// [`cap_for_fd_limit`] with the process's soft `RLIMIT_NOFILE` (Unix; elsewhere `configured`).
pub(crate) fn cap_for_this_process(configured: usize) -> usize {
    #[cfg(unix)]
    if let Ok((soft, _)) = rlimit::getrlimit(rlimit::Resource::NOFILE) {
        let cap = cap_for_fd_limit(configured, soft);
        if cap < configured {
            tracing::warn!(
                configured,
                cap,
                fd_limit = soft,
                reserve = FD_RESERVE_BACKENDS + FD_RESERVE_NOTIFICATIONS,
                "RLIMIT_NOFILE leaves room for fewer request connections than configured; raise it (ulimit -n, LimitNOFILE=)"
            );
        }
        return cap;
    }
    configured
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted(admission: Admission) -> Slot {
        match admission {
            Admission::Admitted(slot) => slot,
            _ => panic!("expected room"),
        }
    }

    #[test]
    fn a_guest_below_its_share_takes_the_oldest_place_of_the_biggest_holder() {
        let (a, b, c) = (GuestId::Vsock(3), GuestId::Vsock(4), GuestId::Vsock(5));
        let slots = ConnectionSlots::new(4);
        let a_slots: Vec<Slot> = (0..4).map(|_| admitted(slots.admit(&a))).collect();
        // Full: a fifth of A's is refused; B (share 2 of 4) takes A's oldest.
        assert!(matches!(slots.admit(&a), Admission::Refused));
        let Admission::TookFrom(b1, from) = slots.admit(&b) else { panic!("B refused") };
        assert_eq!(from, a);
        assert!(a_slots[0].taken_back().is_cancelled());
        assert!(!a_slots[1].taken_back().is_cancelled());
        // B reaches its share of 2; then it is refused.
        let Admission::TookFrom(_b2, _) = slots.admit(&b) else { panic!("B refused") };
        assert!(matches!(slots.admit(&b), Admission::Refused));
        // C (share 1 of 4 among three) takes one place too, from A or B (2 each).
        let Admission::TookFrom(_c1, _) = slots.admit(&c) else { panic!("C refused") };
        // Closed connections free their place.
        drop(a_slots);
        drop(b1);
        assert!(matches!(slots.admit(&a), Admission::Admitted(_)));
    }

    #[test]
    fn the_cap_keeps_fds_in_reserve() {
        let reserve = (FD_RESERVE_BACKENDS + FD_RESERVE_NOTIFICATIONS) as u64;
        assert_eq!(cap_for_fd_limit(1024, 1024), 1024 - reserve as usize);
        assert_eq!(cap_for_fd_limit(1024, 1_048_576), 1024);
        assert_eq!(cap_for_fd_limit(1024, 10), 1, "never zero");
    }
}
