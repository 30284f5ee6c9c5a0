//! Tabulation of real-looking vote threads: an mbox export and a Pony Mail JSON thread.

use std::collections::{BTreeMap, BTreeSet};

use atr_core::ids::{RevisionNumber, Uid};
use atr_core::model::release::VoteRound;
use atr_core::model::vote::{Tally, VoteChoice};
use atr_core::tabulate::{
    Electorate, MailVote, Outcome, TabulateError, Tabulation, parse_mbox, parse_ponymail, tabulate,
};
use atr_core::time::Timestamp;

/// The fixtures, compiled in (atr-core's tests do no I/O either).
fn data(name: &str) -> Vec<u8> {
    match name {
        "foo-1.2.0-rc1.mbox" => include_bytes!("../data/votes/foo-1.2.0-rc1.mbox").to_vec(),
        "bar-0.9.0-rc2.ponymail.json" => include_bytes!("../data/votes/bar-0.9.0-rc2.ponymail.json").to_vec(),
        other => panic!("no fixture {other}"),
    }
}

fn uid(s: &str) -> Uid {
    Uid::new(s).unwrap()
}

fn electorate(members: &[&str], addresses: &[(&str, &str)], names: &[(&str, &str)]) -> Electorate {
    Electorate {
        addresses: addresses.iter().map(|(a, u)| ((*a).to_string(), uid(u))).collect::<BTreeMap<_, _>>(),
        names: names.iter().map(|(n, u)| ((*n).to_string(), uid(u))).collect(),
        members: members.iter().map(|m| uid(m)).collect::<BTreeSet<_>>(),
    }
}

fn vote_of<'a>(t: &'a Tabulation, who: &str) -> &'a MailVote {
    t.votes
        .iter()
        .find(|v| v.voter.as_ref().map(Uid::as_str) == Some(who) || v.address == who)
        .unwrap_or_else(|| panic!("no vote of {who} in {:#?}", t.votes))
}

#[test]
fn mbox_thread_with_quotes_changed_votes_non_member_and_dmarc() {
    let messages = parse_mbox(&data("foo-1.2.0-rc1.mbox")).unwrap();
    assert_eq!(messages.len(), 10);
    // Multipart/alternative with quoted-printable: the plain part, decoded, soft breaks joined.
    assert!(messages[1].body.contains("built from source on Linux with JDK 21 and ran the full test suite"));
    // mboxrd: ">From " in a body is unescaped.
    assert!(messages[1].body.contains("\nFrom the NOTICE"));
    // RFC 2047 display name.
    assert_eq!(messages[6].from.name, "Fränk Tester");

    let e = electorate(
        &["alice", "bob", "carol", "erin", "frank"],
        &[("carol@example.com", "carol"), ("erin.example@gmail.com", "erin")],
        &[],
    );
    let t = tabulate(&messages, &e);
    assert_eq!(t.opening_message_id.as_deref(), Some("CAOpen-1@mail.gmail.com"));
    assert_eq!(t.started, Timestamp::parse_rfc3339("2026-11-03T10:00:00Z").ok());

    // The opener's template checkboxes are not Alice's vote; the [RESULT] mail and what follows count for nothing.
    assert!(t.votes.iter().all(|v| v.voter != Some(uid("alice")) && v.voter != Some(uid("henry"))));

    let bob = vote_of(&t, "bob");
    assert_eq!((bob.choice, bob.binding, bob.updated), (VoteChoice::Yes, true, false));
    assert_eq!(bob.quotation, "+1 (binding)", "quoted template lines are not part of the ballot");

    // Carol voted -1, then changed to +1: the latest wins and is marked updated.
    let carol = vote_of(&t, "carol");
    assert_eq!((carol.choice, carol.binding, carol.updated), (VoteChoice::Yes, true, true));
    assert_eq!(carol.message_id, "20261104090000.carol@example.com");

    // A -1 from someone outside the committee is counted, but not binding and not identified.
    let dave = vote_of(&t, "dave@example.net");
    assert_eq!((dave.choice, dave.binding, dave.voter.clone()), (VoteChoice::No, false, None));

    // DMARC-rewritten From: identity from Reply-To; base64 body.
    let erin = vote_of(&t, "erin");
    assert_eq!((erin.choice, erin.binding), (VoteChoice::Yes, true));
    assert_eq!((erin.name.as_str(), erin.address.as_str()), ("Erin Example", "erin.example@gmail.com"));

    // A ticked checkbox is a vote; the -1 in the signature is not.
    let frank = vote_of(&t, "frank");
    assert_eq!((frank.choice, frank.binding), (VoteChoice::Yes, true));

    // Gina cast +1 and -1 on separate lines: reported, not guessed.
    assert_eq!(t.skipped.len(), 1, "{:#?}", t.skipped);
    assert_eq!(t.skipped[0].from, "gina@example.org");
    assert!(t.skipped[0].reason.contains("different votes"));

    assert_eq!(t.votes.len(), 5);
    assert_eq!(t.tally, Tally { binding_yes: 4, non_binding_no: 1, ..Tally::default() }, "{:#?}", t.votes);
    assert!(t.tally.passes());

    // Outcome: still open before 72 hours (but would pass), passed after.
    let start = t.started.unwrap();
    assert_eq!(
        t.outcome(start.plus_hours(48), Some(72)),
        Outcome::StillOpen { remaining_secs: 24 * 3600, would_pass: true }
    );
    assert_eq!(t.outcome(start.plus_hours(72), Some(72)), Outcome::Passed);
    assert_eq!(t.outcome(start, None), Outcome::Passed);
    let body = t.result_body(true, "Apache Foo 1.2.0", Some("https://lists.apache.org/thread/abc"));
    assert!(body.starts_with("The vote on Apache Foo 1.2.0 passed."), "{body}");
    assert!(body.contains("Binding votes: +1: 4, 0: 0, -1: 0."), "{body}");
    assert!(body.contains("+1 Carol Checker (carol) (changed)"), "{body}");
    assert!(body.contains("Non-binding:\n-1 Dave Downstream <dave@example.net>"), "{body}");

    // The ballots agree with the model's own counting.
    let ballots = t.ballots(2, VoteRound::Committee, RevisionNumber::new(3).unwrap());
    assert_eq!(Tally::of(&ballots), t.tally);
    assert!(ballots.iter().all(|b| b.vote_seq == 2 && b.revision_number.to_string() == "00003"));
}

#[test]
fn without_the_address_map_a_dmarc_vote_is_not_binding() {
    let messages = parse_mbox(&data("foo-1.2.0-rc1.mbox")).unwrap();
    let e = electorate(&["alice", "bob", "carol", "erin", "frank"], &[("carol@example.com", "carol")], &[]);
    let t = tabulate(&messages, &e);
    let erin = vote_of(&t, "erin.example@gmail.com");
    assert_eq!((erin.voter.clone(), erin.binding), (None, false));
    assert_eq!(t.tally.binding_yes, 3);
    assert_eq!(t.tally.non_binding_yes, 1);
}

#[test]
fn ponymail_thread() {
    let json = String::from_utf8(data("bar-0.9.0-rc2.ponymail.json")).unwrap();
    let messages = parse_ponymail(&json).unwrap();
    assert_eq!(messages.len(), 8);
    let e = electorate(
        &["ruth", "sam", "ivan", "judy"],
        &[("ivan@example.org", "ivan"), ("kim@example.com", "kim"), ("mia@example.edu", "mia")],
        &[("Judy Member", "judy")],
    );
    let t = tabulate(&messages, &e);
    assert_eq!(t.started, Some(Timestamp::from_unix(1_762_164_000)));

    // Sam changed +1 to -1; the Outlook-style quote after "____" is ignored.
    let sam = vote_of(&t, "sam");
    assert_eq!((sam.choice, sam.binding, sam.updated), (VoteChoice::No, true, true));
    assert_eq!(sam.quotation, "-1 (binding)");
    // DMARC: ezmlm's last Cc carries the sender.
    let ivan = vote_of(&t, "ivan");
    assert_eq!(
        (ivan.choice, ivan.binding, ivan.address.as_str()),
        (VoteChoice::Yes, true, "ivan@example.org")
    );
    // DMARC without Reply-To or Cc: the caller's name map.
    let judy = vote_of(&t, "judy");
    assert_eq!((judy.choice, judy.binding), (VoteChoice::Yes, true));
    // ".invalid" is stripped; a known committer who is not a member abstains non-binding.
    let kim = vote_of(&t, "kim");
    assert_eq!((kim.choice, kim.binding), (VoteChoice::Abstain, false));
    let lee = vote_of(&t, "lee@outside.example");
    assert_eq!((lee.choice, lee.binding, lee.voter.clone()), (VoteChoice::No, false, None));

    // DMARC with neither Reply-To nor Cc: the SPF-checked envelope sender; a committer, not a member.
    let mia = vote_of(&t, "mia");
    assert_eq!((mia.choice, mia.binding, mia.address.as_str()), (VoteChoice::Yes, false, "mia@example.edu"));

    assert_eq!(
        t.tally,
        Tally {
            binding_yes: 2,
            binding_no: 1,
            non_binding_yes: 1,
            non_binding_no: 1,
            non_binding_abstain: 1,
            binding_abstain: 0,
        }
    );
    assert!(!t.tally.passes());
    assert!(t.tally.shortfall().unwrap().contains("needs at least 3"));
    let start = t.started.unwrap();
    assert_eq!(t.outcome(start.plus_hours(100), Some(72)), Outcome::Failed);
    assert!(matches!(t.outcome(start.plus_hours(1), Some(72)), Outcome::StillOpen { would_pass: false, .. }));
}

#[test]
fn ponymail_single_mail_and_array_forms() {
    let one = r#"{"from": "Sam <sam@apache.org>", "subject": "Re: [VOTE] x", "epoch": 5, "body": "+1", "mid": "m1"}"#;
    let m = parse_ponymail(one).unwrap();
    assert_eq!((m.len(), m[0].message_id.as_str(), m[0].date), (1, "m1", Some(Timestamp::from_unix(5))));
    let arr = format!("[{one}, {one}]");
    assert_eq!(parse_ponymail(&arr).unwrap().len(), 2);
}

#[test]
fn bad_archives_are_refused_with_a_reason() {
    assert_eq!(parse_mbox(b"no separator here\n"), Err(TabulateError::EmptyMbox));
    let e = parse_ponymail("{\"thread\": {}}").unwrap_err();
    assert!(e.to_string().contains("no \"emails\" array"), "{e}");
    let e = parse_ponymail("{\"emails\": [{\"from\": \"nobody\", \"body\": \"+1\"}]}").unwrap_err();
    assert!(e.to_string().contains("no readable \"from\""), "{e}");
    assert!(matches!(parse_ponymail("not json"), Err(TabulateError::PonyMail(_))));
}

#[test]
fn a_thread_with_only_the_opening_mail_has_no_votes() {
    let mbox = b"From a Tue Nov  3 10:00:00 2026\nFrom: A <a@apache.org>\nSubject: [VOTE] Release X\n\n[ ] +1 yes\n+1 from me as RM\n";
    let t = tabulate(&parse_mbox(mbox).unwrap(), &Electorate::default());
    assert!(t.votes.is_empty());
    assert_eq!(t.tally, Tally::default());
}
