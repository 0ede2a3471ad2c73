//! `proxy-wifi ctl guest list|add|remove`: the guests a running service accepts.

use proxy_wifi::{GuestList, ServiceHandle};

use crate::cli::CtlGuestCommand;
use crate::control::ControlAnswer;

/// Carries out one `ctl guest` command on the service.
pub fn execute(service: &ServiceHandle, command: CtlGuestCommand) -> ControlAnswer {
    let outcome = match &command {
        CtlGuestCommand::List => Ok(describe(&service.guests())),
        CtlGuestCommand::Add { guest } => service.add_guest(guest.clone()).map(|added| {
            if added {
                format!("{guest} added: served from its next connection")
            } else {
                format!("{guest} is served already")
            }
        }),
        CtlGuestCommand::Remove { guest } => service.remove_guest(guest).map(|removed| {
            if removed {
                format!("{guest} removed: its session ended, its next connection is refused")
            } else {
                format!("{guest} was not listed; nothing to remove")
            }
        }),
    };
    match outcome {
        Ok(message) => {
            let mut answer = ControlAnswer::ok(message);
            answer.guests = Some(service.guests());
            answer
        }
        Err(error) => ControlAnswer::error(error.to_string()),
    }
}

/// `ctl guest list` as text: what is served, then one guest per line.
pub fn describe(guests: &GuestList) -> String {
    let served = match (guests.any_guest, guests.listed.is_empty()) {
        (true, true) => "every guest that connects",
        (true, false) => "every guest that connects, and by name:",
        (false, true) => "no guest yet",
        (false, false) => "these guests:",
    };
    let changes = if guests.changeable { "`ctl guest add|remove` changes them" } else { "fixed at start" };
    let mut lines = vec![format!("{} transport serves {served} ({changes})", guests.transport)];
    lines.extend(guests.listed.iter().map(ToString::to_string));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxy_wifi::GuestId;

    #[test]
    fn the_list_says_what_is_served_and_whether_it_can_change() {
        let list = GuestList {
            transport: "vsock".into(),
            any_guest: false,
            listed: vec![GuestId::Vsock(3), GuestId::Vsock(4)],
            changeable: true,
        };
        assert_eq!(
            describe(&list),
            "vsock transport serves these guests: (`ctl guest add|remove` changes them)\nvsock:3\nvsock:4"
        );
        let none = GuestList { listed: Vec::new(), ..list };
        assert_eq!(describe(&none), "vsock transport serves no guest yet (`ctl guest add|remove` changes them)");
    }
}
