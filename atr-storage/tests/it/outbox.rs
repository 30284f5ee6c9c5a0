//! The local mail adapter: vote mails go through the Maildir outbox and the list archive, and the
//! archive tabulates.

use std::collections::BTreeMap;

use atr_core::ids::Uid;
use atr_core::model::vote::{Tally, VoteChoice};
use atr_core::tabulate::{Electorate, parse_mbox, parse_message, tabulate};
use atr_core::time::Timestamp;
use atr_storage::Storage;
use atr_storage::outbox::{MailError, OutgoingMail};

const LIST: &str = "dev@foo.apache.org";

fn mail(from: &str, name: &str, subject: &str, body: &str, reply_to: Option<&str>, at: i64) -> OutgoingMail {
    OutgoingMail {
        from: from.into(),
        from_name: name.into(),
        to: vec![LIST.into()],
        subject: subject.into(),
        body: body.into(),
        in_reply_to: reply_to.map(str::to_string),
        date: Timestamp::from_unix(1_793_700_000 + at),
    }
}

fn entries(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v
}

#[test]
fn a_vote_thread_round_trips_through_the_outbox_and_the_list_archive_into_tabulation() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    let subject = "[VOTE] Release Apache Foo 1.0.0";
    let opening = mail(
        "alice@apache.org",
        "Zoë Release",
        subject,
        "Hello Foo,\n\nI'd like to call a vote on Apache Foo 1.0.0, revision 00002.\n\
         SHA-512 of apache-foo-1.0.0-src.tar.gz: 7c1b2a9e0d3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3\n\
         From the release notes: faster.\n\n[ ] +1 Release this package\n[ ] +0 Abstain\n[ ] -1 Do not release this package\n",
        None,
        0,
    );
    let open = s.deliver_local(&opening, &[LIST]).unwrap();
    let re = format!("Re: {subject}");
    let replies = [
        mail(
            "bob@apache.org",
            "Bob",
            &re,
            "+1 (binding)\n\n> [ ] +1 Release this package\n",
            Some(&open.message_id),
            60,
        ),
        mail(
            "carol@example.com",
            "Carol \"CC\" Checker",
            &re,
            "-1 (binding): NOTICE is wrong\n",
            Some(&open.message_id),
            120,
        ),
        mail("dave@example.net", "Dave", &re, "-1 (non-binding)\n", Some(&open.message_id), 180),
        mail(
            "carol@example.com",
            "Carol \"CC\" Checker",
            &re,
            "My mistake, the NOTICE is fine.\n\n+1 (binding)\n",
            Some(&open.message_id),
            240,
        ),
        mail(
            "erin@apache.org",
            "Renée Ünicode",
            &format!("{re} — ñ"),
            "+1 — tested on Debian\n",
            Some(&open.message_id),
            300,
        ),
    ];
    let mut ids = vec![open.message_id.clone()];
    for r in &replies {
        ids.push(s.deliver_local(r, &[LIST]).unwrap().message_id);
    }

    // The Maildir: every message in new/, none left in tmp/, each a complete message.
    let outbox = s.mail_outbox();
    assert!(entries(&outbox.join("tmp")).is_empty());
    let new = entries(&outbox.join("new"));
    assert_eq!(new.len(), 6);
    let mut seen = BTreeMap::new();
    for f in &new {
        let raw = std::fs::read(f).unwrap();
        assert!(
            raw.windows(2).any(|w| w == b"\r\n") && !raw.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r')
        );
        let m = parse_message(&raw);
        seen.insert(m.message_id.clone(), m);
    }
    assert_eq!(
        seen.keys().cloned().collect::<std::collections::BTreeSet<_>>(),
        ids.iter().cloned().collect()
    );
    let erin = &seen[&ids[5]];
    assert_eq!(erin.from.name, "Renée Ünicode");
    assert_eq!(erin.subject, format!("{re} — ñ"));
    assert_eq!(erin.body.trim_end(), "+1 — tested on Debian");
    assert_eq!(seen[&ids[2]].from.name, "Carol \"CC\" Checker");
    assert!(seen[&ids[0]].body.contains(
        "7c1b2a9e0d3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3"
    ));

    // The archive: one mbox with the six messages in order, "From " in a body escaped and restored.
    let archive = s.list_archive(LIST).unwrap();
    let text = std::fs::read_to_string(&archive).unwrap();
    assert!(text.contains("\n>From the release notes"));
    let messages = parse_mbox(text.as_bytes()).unwrap();
    assert_eq!(messages.iter().map(|m| m.message_id.clone()).collect::<Vec<_>>(), ids);
    assert!(messages[0].body.contains("\nFrom the release notes: faster."));
    assert_eq!(messages[0].from.name, "Zoë Release");

    let uid = |s: &str| Uid::new(s).unwrap();
    let electorate = Electorate {
        addresses: [("carol@example.com".to_string(), uid("carol"))].into(),
        names: BTreeMap::new(),
        members: ["alice", "bob", "carol", "erin"].map(uid).into(),
    };
    let t = tabulate(&messages, &electorate);
    assert_eq!(t.opening_message_id.as_deref(), Some(open.message_id.as_str()));
    assert_eq!(t.started, Some(opening.date));
    assert_eq!(t.tally, Tally { binding_yes: 3, non_binding_no: 1, ..Tally::default() }, "{:#?}", t.votes);
    let carol = t.votes.iter().find(|v| v.voter == Some(uid("carol"))).unwrap();
    assert_eq!((carol.choice, carol.updated), (VoteChoice::Yes, true));
    assert!(t.tally.passes());
}

#[test]
fn a_forged_header_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    let bad = mail("alice@apache.org", "Alice", "[VOTE] x\nBcc: everyone@example.org", "+1", None, 0);
    let err = s.deliver_local(&bad, &[LIST]).unwrap_err();
    assert!(matches!(err, MailError::Invalid { field: "subject", .. }), "{err}");
    assert!(!s.mail_outbox().join("new").exists() || entries(&s.mail_outbox().join("new")).is_empty());
    assert!(!s.list_archive(LIST).unwrap().exists());
    let err = s
        .deliver_local(&mail("alice@apache.org", "A", "ok", "+1", None, 0), &["../../etc/passwd"])
        .unwrap_err();
    assert!(err.to_string().contains("not a plain address"), "{err}");
}
