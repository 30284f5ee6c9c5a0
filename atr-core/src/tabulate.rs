//! Tabulation of a vote thread read from a mail archive (an mbox file or a Pony Mail JSON thread).
//!
//! The input is bytes the adapter read; nothing here touches a file or the network. The rules
//! follow ATR's tabulation and fix its known miscounts:
//!
//! - The vote-opening mail and everything from the first `[RESULT]` mail on are not ballots.
//! - Quoted lines (`>`), the quoted part after an attribution line (`On … wrote:`, `From: `,
//!   `-----Original Message-----`, `________`), the signature (`-- `) and the template's empty
//!   checkbox lines (`[ ] +1 Release this package`) are ignored. A ticked checkbox (`[x] +1`) is a vote.
//! - `+1`, `-1`, `0`, `+0`, `-0` count when they stand as a token (`+10` or `-1.5` do not).
//!   A mail whose lines cast different choices is reported as ambiguous, not counted.
//! - One ballot per person: the latest mail (by date, then by archive order) wins.
//! - Identity comes from the From address: `uid@apache.org` is that uid, otherwise the caller's
//!   address map. A From rewritten by the list for DMARC (`"Name via dev" <dev@x.apache.org>`)
//!   is resolved through the SPF-checked envelope sender (`Received-SPF: … envelope-from=…`), then
//!   Reply-To, then the last Cc that is not the list (ezmlm adds the sender there), then the
//!   caller's name map.
//! - Binding means the uid is in the caller's set of committee members.

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::{RevisionNumber, Uid};
use crate::model::release::VoteRound;
use crate::model::vote::{Ballot, Tally, VoteChoice};
use crate::time::Timestamp;

/// Most messages one thread may hold.
pub const MAX_THREAD_MESSAGES: usize = 10_000;

/// Why an archive could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TabulateError {
    /// The mbox holds no message.
    #[error("the mbox file holds no message: it must start with a \"From \" separator line")]
    EmptyMbox,
    /// The Pony Mail JSON could not be read.
    #[error(
        "the Pony Mail thread is not valid JSON of the expected shape ({0}); export it from \
         https://lists.apache.org/api/thread.lua?id=<thread id> or email.lua"
    )]
    PonyMail(String),
    /// Too many messages.
    #[error("the thread holds more than {MAX_THREAD_MESSAGES} messages")]
    TooManyMessages,
}

/// A mailbox: display name and address (lowercased).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mailbox {
    /// Display name, decoded; may be empty.
    pub name: String,
    /// The address, lowercased, with a trailing `.invalid` removed.
    pub address: String,
}

/// One mail of a thread, reduced to what tabulation needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// Message-ID without angle brackets.
    pub message_id: String,
    /// The From mailbox.
    pub from: Mailbox,
    /// Reply-To mailboxes.
    pub reply_to: Vec<Mailbox>,
    /// Cc mailboxes.
    pub cc: Vec<Mailbox>,
    /// The list's posting address (from List-Post or Pony Mail's `list_raw`), lowercased.
    pub list: Option<String>,
    /// The SMTP envelope sender the receiving server checked with SPF (`Received-SPF: …
    /// envelope-from=…`), lowercased: the original sender even when the list rewrote From.
    pub envelope_from: Option<String>,
    /// Subject, decoded.
    pub subject: String,
    /// When it was sent.
    pub date: Option<Timestamp>,
    /// The plain-text body, decoded, with `\n` line ends.
    pub body: String,
    /// The Message-IDs this mail answers (`In-Reply-To` and `References`), without angle brackets.
    pub replies_to: Vec<String>,
}

/// The messages of the thread that `root` (a Message-ID) opens: `root` itself and every mail
/// that answers it or an answer of it (by `In-Reply-To` or `References`), in archive order.
/// Mails of other threads in the same archive, however they are worded, are not part of it.
pub fn thread(messages: &[Message], root: &str) -> Vec<Message> {
    let root = strip_angles(root.trim());
    let mut ids: BTreeSet<&str> = BTreeSet::from([root]);
    let mut member = vec![false; messages.len()];
    loop {
        let mut grew = false;
        for (i, m) in messages.iter().enumerate() {
            if member[i] {
                continue;
            }
            if m.message_id == root || m.replies_to.iter().any(|r| ids.contains(r.as_str())) {
                member[i] = true;
                ids.insert(m.message_id.as_str());
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    messages.iter().zip(member).filter(|(_, keep)| *keep).map(|(m, _)| m.clone()).collect()
}

/// Who may vote and how their addresses map to uids.
#[derive(Debug, Clone, Default)]
pub struct Electorate {
    /// Known addresses (lowercase) of committers.
    pub addresses: BTreeMap<String, Uid>,
    /// Known display names (compared case-insensitively) for DMARC-rewritten mail.
    pub names: BTreeMap<String, Uid>,
    /// Committee members: their votes are binding.
    pub members: BTreeSet<Uid>,
}

impl Electorate {
    /// The uid of `address`: `uid@apache.org`, else the address map.
    pub fn uid_of_address(&self, address: &str) -> Option<Uid> {
        let address = normalise_address(address);
        if let Some(local) = address.strip_suffix("@apache.org")
            && let Ok(uid) = Uid::new(local)
        {
            return Some(uid);
        }
        self.addresses.get(&address).cloned()
    }

    fn uid_of_name(&self, name: &str) -> Option<Uid> {
        let name = name.trim().to_lowercase();
        if name.is_empty() {
            return None;
        }
        self.names.iter().find(|(k, _)| k.to_lowercase() == name).map(|(_, v)| v.clone())
    }
}

/// One counted vote: the latest of its voter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailVote {
    /// The voter's uid, if identified.
    pub voter: Option<Uid>,
    /// The address the identity came from (after DMARC resolution).
    pub address: String,
    /// The display name.
    pub name: String,
    /// The choice.
    pub choice: VoteChoice,
    /// Committee member.
    pub binding: bool,
    /// The lines that cast it, joined by ` // `.
    pub quotation: String,
    /// The mail that cast it.
    pub message_id: String,
    /// When the mail was sent.
    pub cast_at: Option<Timestamp>,
    /// Whether this replaced an earlier vote of the same person.
    pub updated: bool,
}

/// A mail that was not counted, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its Message-ID.
    pub message_id: String,
    /// Its From address.
    pub from: String,
    /// Why it was not counted.
    pub reason: String,
}

/// The result of tabulating a thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tabulation {
    /// When the vote-opening mail was sent.
    pub started: Option<Timestamp>,
    /// The vote-opening mail's Message-ID.
    pub opening_message_id: Option<String>,
    /// One vote per person, in the order they were last cast.
    pub votes: Vec<MailVote>,
    /// Mails that cast nothing countable, with reasons (only mails that looked like ballots).
    pub skipped: Vec<Skipped>,
    /// The counts.
    pub tally: Tally,
}

impl Tabulation {
    /// The votes as model ballots (for storage and the passing rule).
    pub fn ballots(
        &self,
        vote_seq: u32,
        vote_round: VoteRound,
        revision_number: RevisionNumber,
    ) -> Vec<Ballot> {
        self.votes.iter().map(|v| mail_ballot(v, vote_seq, vote_round, revision_number)).collect()
    }

    /// Where the vote stands at `now` with a minimum duration of `min_hours` (`None`: no minimum).
    /// The duration runs from the opening mail; a thread without dates has not run at all.
    pub fn outcome(&self, now: Timestamp, min_hours: Option<u32>) -> Outcome {
        let passes = self.tally.passes();
        if let Some(h) = min_hours {
            let ends = self.started.map(|s| s.plus_hours(h));
            let remaining = ends.map_or(i64::from(h) * 3600, |e| e.secs_since(now));
            if remaining > 0 {
                return Outcome::StillOpen { remaining_secs: remaining, would_pass: passes };
            }
        }
        if passes { Outcome::Passed } else { Outcome::Failed }
    }

    /// The body of the `[RESULT]` mail: the outcome, the thread, and every counted vote.
    pub fn result_body(&self, passed: bool, release_name: &str, thread_url: Option<&str>) -> String {
        let mut out = format!("The vote on {release_name} {}.\n\n", if passed { "passed" } else { "failed" });
        if let Some(url) = thread_url {
            out.push_str(&format!("The vote thread is archived at:\n\n{url}\n\n"));
        }
        let t = &self.tally;
        out.push_str(&format!(
            "Binding votes: +1: {}, 0: {}, -1: {}.\nNon-binding votes: +1: {}, 0: {}, -1: {}.\n",
            t.binding_yes,
            t.binding_abstain,
            t.binding_no,
            t.non_binding_yes,
            t.non_binding_abstain,
            t.non_binding_no
        ));
        for (title, binding) in [("Binding", true), ("Non-binding", false)] {
            let votes: Vec<&MailVote> = self.votes.iter().filter(|v| v.binding == binding).collect();
            if votes.is_empty() {
                continue;
            }
            out.push_str(&format!("\n{title}:\n"));
            for v in votes {
                let who = match (&v.voter, v.name.is_empty()) {
                    (Some(uid), true) => uid.to_string(),
                    (Some(uid), false) => format!("{} ({uid})", v.name),
                    (None, true) => v.address.clone(),
                    (None, false) => format!("{} <{}>", v.name, v.address),
                };
                let updated = if v.updated { " (changed)" } else { "" };
                out.push_str(&format!("{} {who}{updated}\n", v.choice.as_str()));
            }
        }
        out
    }
}

/// Where a tabulated vote stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The minimum duration has not elapsed.
    StillOpen {
        /// Seconds until it has.
        remaining_secs: i64,
        /// Whether it would pass if closed now.
        would_pass: bool,
    },
    /// At least three binding +1 and more binding +1 than -1, and the duration has elapsed.
    Passed,
    /// The duration has elapsed and the rule is not met.
    Failed,
}

fn mail_ballot(
    v: &MailVote,
    vote_seq: u32,
    vote_round: VoteRound,
    revision_number: RevisionNumber,
) -> Ballot {
    Ballot {
        voter: v.voter.clone(),
        voter_name: if v.name.is_empty() { v.address.clone() } else { format!("{} <{}>", v.name, v.address) },
        choice: v.choice,
        binding: v.binding,
        comment: v.quotation.clone(),
        vote_seq,
        vote_round,
        revision_number,
        cast_at: v.cast_at.unwrap_or(Timestamp::EPOCH),
        manifest_digest: None,
    }
}

/// Tabulates `messages` (in archive order) for `electorate`.
///
/// The first message, or the first whose subject starts with `[VOTE]` without `Re:`, opens the
/// vote and is not a ballot; tabulation stops at the first `[RESULT]` mail.
pub fn tabulate(messages: &[Message], electorate: &Electorate) -> Tabulation {
    let mut ordered: Vec<(usize, &Message)> = messages.iter().enumerate().collect();
    // Stable by date; undated mails keep their archive position relative to each other.
    ordered.sort_by_key(|(i, m)| (m.date.map_or(i64::MIN, Timestamp::unix), *i));
    let opening = ordered
        .iter()
        .find(|(_, m)| is_opening_subject(&m.subject))
        .or_else(|| ordered.first())
        .map(|(i, _)| *i);

    let mut out = Tabulation {
        started: None,
        opening_message_id: None,
        votes: Vec::new(),
        skipped: Vec::new(),
        tally: Tally::default(),
    };
    if let Some(i) = opening {
        out.started = messages[i].date;
        out.opening_message_id = Some(messages[i].message_id.clone());
    }
    // Key: uid, or address for unidentified voters.
    let mut latest: BTreeMap<String, MailVote> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for (i, m) in ordered {
        if Some(i) == opening {
            continue;
        }
        if m.subject.contains("[RESULT]") {
            break;
        }
        let (address, name, voter) = identify(m, electorate);
        let castings = castings(&m.body);
        let choice = match distinct_choice(&castings) {
            Ok(Some(c)) => c,
            Ok(None) => continue,
            Err(()) => {
                out.skipped.push(Skipped {
                    message_id: m.message_id.clone(),
                    from: address,
                    reason: format!(
                        "the mail casts different votes on different lines: {}",
                        join_quotation(&castings)
                    ),
                });
                continue;
            }
        };
        let key = voter.as_ref().map_or_else(|| format!("mail:{address}"), |u| format!("uid:{u}"));
        let binding = voter.as_ref().is_some_and(|u| electorate.members.contains(u));
        let updated = latest.contains_key(&key);
        order.retain(|k| k != &key);
        order.push(key.clone());
        latest.insert(
            key,
            MailVote {
                voter,
                address,
                name,
                choice,
                binding,
                quotation: join_quotation(&castings),
                message_id: m.message_id.clone(),
                cast_at: m.date,
                updated,
            },
        );
    }
    out.votes = order.into_iter().filter_map(|k| latest.remove(&k)).collect();
    let ballots: Vec<Ballot> =
        out.votes.iter().map(|v| mail_ballot(v, 1, VoteRound::Committee, RevisionNumber::FIRST)).collect();
    out.tally = Tally::of(&ballots);
    out
}

fn is_opening_subject(subject: &str) -> bool {
    let s = subject.trim_start();
    let lower = s.to_lowercase();
    !lower.starts_with("re:")
        && !lower.starts_with("aw:")
        && s.starts_with("[VOTE]")
        && !s.contains("[RESULT]")
}

/// Identity of the sender: (address, display name, uid).
fn identify(m: &Message, electorate: &Electorate) -> (String, String, Option<Uid>) {
    let (name, rewritten) = strip_via(&m.from.name);
    let is_list_address = m.list.as_deref() == Some(m.from.address.as_str());
    if rewritten || is_list_address {
        let not_list =
            |mb: &&Mailbox| Some(mb.address.as_str()) != m.list.as_deref() && mb.address != m.from.address;
        let envelope = m.envelope_from.as_ref().map(|a| Mailbox { name: name.clone(), address: a.clone() });
        let candidate = envelope
            .iter()
            .find(not_list)
            .or_else(|| m.reply_to.iter().find(not_list))
            .or_else(|| m.cc.iter().rev().find(not_list));
        if let Some(mb) = candidate
            && let Some(uid) = electorate.uid_of_address(&mb.address)
        {
            return (mb.address.clone(), name, Some(uid));
        }
        if let Some(uid) = electorate.uid_of_name(&name) {
            let address = candidate.map_or_else(|| m.from.address.clone(), |mb| mb.address.clone());
            return (address, name, Some(uid));
        }
        let address = candidate.map_or_else(|| m.from.address.clone(), |mb| mb.address.clone());
        return (address, name, None);
    }
    (m.from.address.clone(), name, electorate.uid_of_address(&m.from.address))
}

/// Removes a list's ` via <list>` suffix from a display name; reports whether there was one.
fn strip_via(name: &str) -> (String, bool) {
    match name.rfind(" via ") {
        Some(i) => (name[..i].trim().to_string(), true),
        None => (name.trim().to_string(), false),
    }
}

fn join_quotation(castings: &[(VoteChoice, String)]) -> String {
    castings.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>().join(" // ")
}

fn distinct_choice(castings: &[(VoteChoice, String)]) -> Result<Option<VoteChoice>, ()> {
    let mut choice = None;
    for (c, _) in castings {
        match choice {
            None => choice = Some(*c),
            Some(prev) if prev != *c => return Err(()),
            Some(_) => {}
        }
    }
    Ok(choice)
}

/// The lines of `body` that cast a vote, with their choice.
///
/// Lines that begin with the vote (`+1 (binding)`, a ticked checkbox) outrank lines that only
/// mention one (`I'd be +1 once that's fixed`): when any line begins with a vote, only those count.
pub fn castings(body: &str) -> Vec<(VoteChoice, String)> {
    let all = castings_ranked(body);
    let leading = all.iter().any(|(_, _, lead)| *lead);
    all.into_iter().filter(|(_, _, lead)| *lead || !leading).map(|(c, l, _)| (c, l)).collect()
}

fn castings_ranked(body: &str) -> Vec<(VoteChoice, String, bool)> {
    let mut out = Vec::new();
    for raw in body.lines() {
        let line = raw.trim_end_matches(['\r', ' ', '\t']);
        if raw.trim_end_matches('\r') == "-- " || is_attribution(line) {
            break;
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with('>') || trimmed.starts_with('|') {
            continue;
        }
        let (text, ticked) = match checkbox(trimmed) {
            Checkbox::Empty => continue,
            Checkbox::Ticked(rest) => (rest, true),
            Checkbox::None => (trimmed, false),
        };
        if !ticked && (text.contains("+1 votes") || text.contains("-1 votes")) {
            continue;
        }
        if let Some(c) = line_choice(text) {
            let lead = ticked || text.starts_with(['+', '-', '0']);
            out.push((c, trimmed.to_string(), lead));
        }
    }
    out
}

enum Checkbox<'a> {
    None,
    Empty,
    Ticked(&'a str),
}

fn checkbox(line: &str) -> Checkbox<'_> {
    let Some(rest) = line.strip_prefix('[') else {
        // A checkbox further into the line ("Please vote: [ ] +1") is template text too.
        return if line.contains("[ ]") || line.contains("[  ]") { Checkbox::Empty } else { Checkbox::None };
    };
    let Some(close) = rest.find(']') else { return Checkbox::None };
    let inside = rest[..close].trim();
    let after = rest[close + 1..].trim_start();
    if line_choice(after).is_none() {
        return Checkbox::None;
    }
    if inside.is_empty() {
        Checkbox::Empty
    } else if matches!(inside, "x" | "X" | "✓" | "✔" | "*") {
        Checkbox::Ticked(after)
    } else {
        Checkbox::None
    }
}

fn is_attribution(line: &str) -> bool {
    let t = line.trim();
    (t.starts_with("On ") && (t.ends_with("wrote:") || t.as_bytes().get(6..8) == Some(b", ")))
        || t.ends_with(" wrote:")
        || t.starts_with("From: ")
        || t.starts_with("________")
        || t.starts_with("-----Original Message-----")
}

/// The choice a line casts, if any: a token `+1`, `-1`, `+0`, `-0`, or a line that is or starts with `0`.
fn line_choice(line: &str) -> Option<VoteChoice> {
    let t = line.trim();
    let mut yes = false;
    let mut no = false;
    let mut zero = t == "0" || t.starts_with("0 ") || t.starts_with("0,") || t.starts_with("0 (");
    let b = t.as_bytes();
    for (i, w) in b.windows(2).enumerate() {
        let sign = w[0];
        if !(sign == b'+' || sign == b'-') {
            continue;
        }
        let before_ok = i == 0 || matches!(b[i - 1], b' ' | b'\t' | b'(' | b'"' | b'\'' | b':' | b',');
        let after = b.get(i + 2).copied();
        let after_ok =
            !matches!(after, Some(c) if c.is_ascii_alphanumeric() || c == b'.' || c == b'%' || c == b'/');
        if !before_ok || !after_ok {
            continue;
        }
        match (sign, w[1]) {
            (b'+', b'1') => yes = true,
            (b'-', b'1') => no = true,
            (_, b'0') => zero = true,
            _ => {}
        }
    }
    match (yes, no, zero) {
        (true, false, false) => Some(VoteChoice::Yes),
        (false, true, false) => Some(VoteChoice::No),
        (false, false, true) => Some(VoteChoice::Abstain),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// mbox and RFC 5322

/// Splits an mbox file (mboxo or mboxrd: `From ` lines separate, `>From ` is unescaped) and parses each message.
pub fn parse_mbox(bytes: &[u8]) -> Result<Vec<Message>, TabulateError> {
    let mut messages = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    let mut prev_blank = true;
    for line in split_lines_keep(bytes) {
        if line.starts_with(b"From ") && prev_blank {
            if let Some(m) = current.take() {
                messages.push(parse_message(&m));
                if messages.len() > MAX_THREAD_MESSAGES {
                    return Err(TabulateError::TooManyMessages);
                }
            }
            current = Some(Vec::new());
            prev_blank = false;
            continue;
        }
        prev_blank = matches!(line, b"\n" | b"\r\n");
        if let Some(buf) = current.as_mut() {
            let unescaped = match line.iter().position(|&c| c != b'>') {
                Some(n) if n > 0 && line[n..].starts_with(b"From ") => &line[1..],
                _ => line,
            };
            buf.extend_from_slice(unescaped);
        }
    }
    if let Some(m) = current.take() {
        messages.push(parse_message(&m));
    }
    if messages.is_empty() {
        return Err(TabulateError::EmptyMbox);
    }
    if messages.len() > MAX_THREAD_MESSAGES {
        return Err(TabulateError::TooManyMessages);
    }
    Ok(messages)
}

/// The `<id>` tokens of an `In-Reply-To` or `References` header, without angle brackets.
fn message_ids(value: &str) -> impl Iterator<Item = String> + '_ {
    value
        .split('<')
        .skip(1)
        .filter_map(|t| t.split_once('>'))
        .map(|(id, _)| id.trim().to_owned())
        .filter(|id| !id.is_empty())
}

fn split_lines_keep(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes.split_inclusive(|&c| c == b'\n')
}

/// Parses one RFC 5322 message (headers, then a body that may be MIME multipart).
pub fn parse_message(raw: &[u8]) -> Message {
    let (headers, body) = split_head(raw);
    let get =
        |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    let message_id = get("Message-ID").map(|v| strip_angles(v).to_string()).unwrap_or_default();
    let from = get("From").map(parse_address_list).and_then(|v| v.into_iter().next()).unwrap_or_default();
    let list = get("List-Post")
        .and_then(|v| {
            let v = strip_angles(v);
            v.strip_prefix("mailto:").map(|a| normalise_address(a.split('?').next().unwrap_or(a)))
        })
        .or_else(|| get("List-Id").and_then(list_id_address));
    Message {
        message_id,
        from,
        reply_to: get("Reply-To").map(parse_address_list).unwrap_or_default(),
        cc: get("Cc").map(parse_address_list).unwrap_or_default(),
        list,
        envelope_from: headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("Received-SPF"))
            .find_map(|(_, v)| spf_envelope_from(v)),
        subject: get("Subject").map(decode_words).unwrap_or_default(),
        date: get("Date").and_then(parse_date),
        body: body_text(&headers, body),
        replies_to: message_ids(get("In-Reply-To").unwrap_or(""))
            .chain(message_ids(get("References").unwrap_or("")))
            .collect(),
    }
}

/// The `envelope-from=` value of a Received-SPF header, if it is a plain address.
fn spf_envelope_from(v: &str) -> Option<String> {
    let lower = v.to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(i) = rest.find("envelope-from") {
        let before_ok = i == 0 || matches!(rest.as_bytes()[i - 1], b' ' | b'\t' | b';' | b'(');
        let after = rest[i + "envelope-from".len()..].trim_start();
        rest = &rest[i + 1..];
        let Some(value) = after.strip_prefix('=') else { continue };
        if !before_ok {
            continue;
        }
        let value = value.trim_start();
        let end = value.find([';', ' ', '\t', ')']).unwrap_or(value.len());
        let addr = value[..end].trim_matches(['"', '<', '>']);
        if addr.contains('@') && !addr.chars().any(char::is_whitespace) {
            return Some(normalise_address(addr));
        }
    }
    None
}

/// `<dev.foo.apache.org>` → `dev@foo.apache.org`.
fn list_id_address(v: &str) -> Option<String> {
    let inner = v.rsplit('<').next()?.trim_end_matches('>').trim();
    let (local, domain) = inner.split_once('.')?;
    Some(format!("{local}@{domain}").to_lowercase())
}

type Headers = Vec<(String, String)>;

fn split_head(raw: &[u8]) -> (Headers, &[u8]) {
    let mut headers: Headers = Vec::new();
    let mut pos = 0;
    for line in split_lines_keep(raw) {
        pos += line.len();
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            return (headers, &raw[pos..]);
        }
        if text.starts_with([' ', '\t']) {
            if let Some((_, v)) = headers.last_mut() {
                v.push(' ');
                v.push_str(text.trim());
            }
        } else if let Some((k, v)) = text.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    (headers, &raw[raw.len()..])
}

fn header_param(value: &str, param: &str) -> Option<String> {
    for part in value.split(';').skip(1) {
        let (k, v) = part.split_once('=')?;
        if k.trim().eq_ignore_ascii_case(param) {
            return Some(v.trim().trim_matches('"').to_string());
        }
    }
    None
}

/// The first text/plain part of the body, decoded to a string.
fn body_text(headers: &Headers, body: &[u8]) -> String {
    body_text_depth(headers, body, 0).unwrap_or_default()
}

fn body_text_depth(headers: &Headers, body: &[u8], depth: u8) -> Option<String> {
    let get =
        |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    let ctype = get("Content-Type").unwrap_or("text/plain");
    let mime = ctype.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if mime.starts_with("multipart/") {
        if depth > 4 {
            return None;
        }
        let boundary = header_param(ctype, "boundary")?;
        let parts = split_multipart(body, &boundary);
        let mut html = None;
        for part in parts {
            let (h, b) = split_head(part);
            let pm = h
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("Content-Type"))
                .map_or("text/plain".to_string(), |(_, v)| v.to_ascii_lowercase());
            if pm.starts_with("text/html") {
                html.get_or_insert((h, b));
                continue;
            }
            if (pm.starts_with("text/plain") || pm.starts_with("multipart/"))
                && let Some(t) = body_text_depth(&h, b, depth + 1)
            {
                return Some(t);
            }
        }
        return html.and_then(|(h, b)| body_text_depth(&h, b, depth + 1)).map(|t| strip_tags(&t));
    }
    if !(mime.starts_with("text/") || mime.is_empty()) {
        return None;
    }
    let cte = get("Content-Transfer-Encoding").unwrap_or("7bit").trim().to_ascii_lowercase();
    let bytes = match cte.as_str() {
        "quoted-printable" => decode_qp(body, false),
        "base64" => decode_base64(body),
        _ => body.to_vec(),
    };
    let charset = header_param(ctype, "charset").unwrap_or_default();
    Some(decode_charset(&bytes, &charset).replace("\r\n", "\n"))
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&gt;", ">").replace("&lt;", "<").replace("&amp;", "&").replace("&nbsp;", " ")
}

fn split_multipart<'a>(body: &'a [u8], boundary: &str) -> Vec<&'a [u8]> {
    let delim = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut start: Option<usize> = None;
    let mut pos = 0;
    for line in split_lines_keep(body) {
        let t = trim_crlf(line);
        if t.starts_with(delim.as_bytes()) {
            if let Some(s) = start {
                // The line break before the delimiter belongs to the delimiter.
                let mut end = pos;
                if end > s && body[end - 1] == b'\n' {
                    end -= 1;
                    if end > s && body[end - 1] == b'\r' {
                        end -= 1;
                    }
                }
                parts.push(&body[s..end]);
            }
            if t[delim.len()..].starts_with(b"--") {
                return parts;
            }
            start = Some(pos + line.len());
        }
        pos += line.len();
    }
    if let Some(s) = start {
        parts.push(&body[s..]);
    }
    parts
}

fn trim_crlf(line: &[u8]) -> &[u8] {
    let mut l = line;
    while let [rest @ .., b'\r' | b'\n'] = l {
        l = rest;
    }
    l
}

fn decode_charset(bytes: &[u8], charset: &str) -> String {
    let cs = charset.to_ascii_lowercase();
    if matches!(cs.as_str(), "iso-8859-1" | "latin1" | "latin-1" | "windows-1252" | "us-ascii" | "cp1252")
        && std::str::from_utf8(bytes).is_err()
    {
        bytes.iter().map(|&b| char::from(b)).collect()
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

/// Decodes quoted-printable; `header` also maps `_` to a space (RFC 2047 Q encoding).
fn decode_qp(input: &[u8], header: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let c = input[i];
        if c == b'=' {
            // Soft line break.
            if input.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            if input.get(i + 1) == Some(&b'\r') && input.get(i + 2) == Some(&b'\n') {
                i += 3;
                continue;
            }
            if let (Some(h), Some(l)) = (input.get(i + 1).and_then(hex), input.get(i + 2).and_then(hex)) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
            out.push(c);
        } else if header && c == b'_' {
            out.push(b' ');
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

fn hex(c: &u8) -> Option<u8> {
    (*c as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

fn decode_base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    out
}

/// Decodes RFC 2047 encoded words (`=?UTF-8?Q?…?=`, `=?UTF-8?B?…?=`) in a header value.
pub fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, tail) = rest.split_at(start);
        let decoded = encoded_word(tail);
        match decoded {
            Some((text, used)) => {
                // Whitespace between two encoded words is dropped.
                if !(last_was_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                out.push_str(&text);
                rest = &tail[used..];
                last_was_word = true;
            }
            None => {
                out.push_str(before);
                out.push_str("=?");
                rest = &tail[2..];
                last_was_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

fn encoded_word(s: &str) -> Option<(String, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (charset, after) = inner.split_once('?')?;
    let (enc, after) = after.split_once('?')?;
    let end = after.find("?=")?;
    let payload = &after[..end];
    let used = 2 + charset.len() + 1 + enc.len() + 1 + end + 2;
    let bytes = match enc {
        "Q" | "q" => decode_qp(payload.as_bytes(), true),
        "B" | "b" => decode_base64(payload.as_bytes()),
        _ => return None,
    };
    let charset = charset.split('*').next().unwrap_or(charset);
    Some((decode_charset(&bytes, charset), used))
}

fn strip_angles(v: &str) -> &str {
    v.trim().trim_start_matches('<').trim_end_matches('>').trim()
}

fn normalise_address(a: &str) -> String {
    let a = a.trim().to_lowercase();
    a.strip_suffix(".invalid").map_or(a.clone(), str::to_string)
}

/// Parses an address list header (`"Name" <a@b>, c@d (Comment), Name <e@f>`).
pub fn parse_address_list(value: &str) -> Vec<Mailbox> {
    let mut out = Vec::new();
    for item in split_addresses(value) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (name, address) = match (item.rfind('<'), item.rfind('>')) {
            (Some(l), Some(r)) if l < r => (item[..l].trim().trim_matches('"').to_string(), &item[l + 1..r]),
            _ => {
                // Bare address, maybe with an old-style "(Name)" comment.
                let (addr, comment) = match item.split_once('(') {
                    Some((a, c)) => (a.trim(), c.trim_end_matches(')').trim().to_string()),
                    None => (item, String::new()),
                };
                (comment, addr)
            }
        };
        if !address.contains('@') {
            continue;
        }
        out.push(Mailbox {
            name: decode_words(&name).replace("\\\"", "\""),
            address: normalise_address(address),
        });
    }
    out
}

fn split_addresses(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut quoted, mut angle, mut start) = (false, false, 0);
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

/// Parses an RFC 5322 date (`Tue, 3 Nov 2026 10:00:00 +0100`, also obsolete zone names).
pub fn parse_date(value: &str) -> Option<Timestamp> {
    let v = value.split('(').next().unwrap_or(value).trim();
    let v = v.split_once(',').map_or(v, |(_, rest)| rest).trim();
    let mut it = v.split_whitespace();
    let day: u32 = it.next()?.parse().ok()?;
    let month = match it.next()?.get(..3)?.to_ascii_lowercase().as_str() {
        "jan" => 1,
        "feb" => 2,
        "mar" => 3,
        "apr" => 4,
        "may" => 5,
        "jun" => 6,
        "jul" => 7,
        "aug" => 8,
        "sep" => 9,
        "oct" => 10,
        "nov" => 11,
        "dec" => 12,
        _ => return None,
    };
    let mut year: i64 = it.next()?.parse().ok()?;
    if year < 50 {
        year += 2000;
    } else if year < 1000 {
        year += 1900;
    }
    let time = it.next()?;
    let mut tp = time.split(':');
    let h: u32 = tp.next()?.parse().ok()?;
    let m: u32 = tp.next()?.parse().ok()?;
    let s: u32 = tp.next().map_or(Some(0), |s| s.parse().ok())?;
    let zone = it.next().unwrap_or("+0000");
    let offset_secs: i64 = match zone {
        "UT" | "GMT" | "Z" => 0,
        "EST" => -5 * 3600,
        "EDT" => -4 * 3600,
        "CST" => -6 * 3600,
        "CDT" => -5 * 3600,
        "MST" => -7 * 3600,
        "MDT" => -6 * 3600,
        "PST" => -8 * 3600,
        "PDT" => -7 * 3600,
        z if z.len() == 5 && z.is_ascii() && (z.starts_with('+') || z.starts_with('-')) => {
            let hh: i64 = z[1..3].parse().ok()?;
            let mm: i64 = z[3..5].parse().ok()?;
            let o = hh * 3600 + mm * 60;
            if z.starts_with('-') { -o } else { o }
        }
        _ => 0,
    };
    let iso = format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z");
    let local = Timestamp::parse_rfc3339(&iso).ok()?;
    Some(local.plus_secs(-offset_secs))
}

// ---------------------------------------------------------------------------------------------
// Pony Mail

/// Parses a Pony Mail thread as lists.apache.org serves it.
///
/// Accepts `thread.lua` output (an object with an `emails` array of full mails), a single
/// `email.lua` mail, or an array of mails. Each mail's `from` (or `from_raw`), `subject`,
/// `body`, `epoch`, `message-id` (or `mid`), `list_raw`, `cc` and `reply_to` fields are read.
pub fn parse_ponymail(json: &str) -> Result<Vec<Message>, TabulateError> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| TabulateError::PonyMail(e.to_string()))?;
    let mails: Vec<&serde_json::Value> = match &value {
        serde_json::Value::Array(a) => a.iter().collect(),
        serde_json::Value::Object(o) => match o.get("emails") {
            Some(serde_json::Value::Array(a)) => a.iter().collect(),
            Some(_) => return Err(TabulateError::PonyMail("\"emails\" is not an array".into())),
            None if o.contains_key("body") => vec![&value],
            None => return Err(TabulateError::PonyMail("no \"emails\" array and no \"body\"".into())),
        },
        _ => return Err(TabulateError::PonyMail("the top level is neither an object nor an array".into())),
    };
    if mails.len() > MAX_THREAD_MESSAGES {
        return Err(TabulateError::TooManyMessages);
    }
    let mut out = Vec::with_capacity(mails.len());
    for (i, mail) in mails.into_iter().enumerate() {
        let s = |k: &str| mail.get(k).and_then(serde_json::Value::as_str).unwrap_or("");
        let from_raw = if s("from_raw").is_empty() { s("from") } else { s("from_raw") };
        let from = parse_address_list(from_raw).into_iter().next().ok_or_else(|| {
            TabulateError::PonyMail(format!("mail {i} has no readable \"from\" address: {from_raw:?}"))
        })?;
        let epoch =
            mail.get("epoch").and_then(|e| e.as_i64().or_else(|| e.as_str().and_then(|s| s.parse().ok())));
        let mid = if s("message-id").is_empty() { s("mid") } else { s("message-id") };
        let list = Some(s("list_raw")).filter(|l| !l.is_empty()).and_then(list_id_address);
        let cc = match mail.get("cc") {
            Some(serde_json::Value::String(c)) => parse_address_list(c),
            _ => Vec::new(),
        };
        let envelope_from = match mail.get("received_spf") {
            Some(serde_json::Value::String(v)) => spf_envelope_from(v),
            Some(serde_json::Value::Array(a)) => {
                a.iter().filter_map(|v| v.as_str()).find_map(spf_envelope_from)
            }
            _ => None,
        };
        out.push(Message {
            envelope_from,
            message_id: strip_angles(mid).to_string(),
            from,
            reply_to: parse_address_list(s("reply_to")),
            cc,
            list,
            subject: s("subject").to_string(),
            date: epoch.map(Timestamp::from_unix).or_else(|| parse_date(s("date"))),
            body: s("body").replace("\r\n", "\n"),
            replies_to: message_ids(s("in-reply-to")).chain(message_ids(s("references"))).collect(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_choices() {
        use VoteChoice::*;
        for (line, want) in [
            ("+1", Some(Yes)),
            ("+1 (binding)", Some(Yes)),
            ("I'm +1 on this release.", Some(Yes)),
            ("-1, the LICENSE is missing", Some(No)),
            ("0", Some(Abstain)),
            ("+0 no time to test", Some(Abstain)),
            ("-0", Some(Abstain)),
            ("+10 points for effort", None),
            ("-1.5 degrees", None),
            ("checked 10 files", None),
            ("+1 and -1", None),
            ("version 1.0-1", None),
        ] {
            assert_eq!(line_choice(line), want, "{line}");
        }
    }

    #[test]
    fn body_castings_skip_quotes_templates_and_signatures() {
        let body = "[X] +1 Release this package\n[ ] +0 Abstain\n[ ] -1 Do not release\n\
                    > +1 from the quote\nOn Tue, 3 Nov 2026 at 10:00, Bob <b@x> wrote:\n-1 after the quote";
        let c = castings(body);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].0, VoteChoice::Yes);
        // A leading vote outranks a conditional mention; two leading votes that differ stay ambiguous.
        let c = castings("-1 (binding)\nI'd be +1 once the NOTICE is fixed");
        assert_eq!(c.iter().map(|x| x.0).collect::<Vec<_>>(), [VoteChoice::No]);
        assert_eq!(distinct_choice(&castings("+1 for the source\n-1 for the binaries")), Err(()));
        assert!(castings("thanks\n-- \n+1 in a signature").is_empty());
    }

    #[test]
    fn qp_base64_and_encoded_words() {
        assert_eq!(decode_qp(b"a=3D=\nb =C3=A9", false), "a=b é".as_bytes());
        assert_eq!(decode_base64(b"KzEgKGJpbmRpbmcp\n"), b"+1 (binding)");
        assert_eq!(decode_words("=?UTF-8?Q?Ren=C3=A9?= =?UTF-8?B?IE3DvGxsZXI=?="), "René Müller");
        assert_eq!(decode_words("plain"), "plain");
    }

    #[test]
    fn dates() {
        let t = parse_date("Tue, 03 Nov 2026 10:00:00 +0100").unwrap();
        assert_eq!(t, Timestamp::parse_rfc3339("2026-11-03T09:00:00Z").unwrap());
        assert_eq!(parse_date("3 Nov 2026 09:00 GMT"), Some(t));
        assert_eq!(parse_date("not a date"), None);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
                                        text in "\\PC{0,120}") {
            let _ = parse_message(&bytes);
            let mut mbox = b"From x\n".to_vec();
            mbox.extend_from_slice(&bytes);
            let messages = parse_mbox(&mbox).unwrap();
            let _ = tabulate(&messages, &Electorate::default());
            let _ = castings(&text);
            let _ = parse_date(&text);
            let _ = decode_words(&text);
            let _ = parse_address_list(&text);
            let _ = spf_envelope_from(&text);
            let _ = parse_ponymail(&text);
        }

        #[test]
        fn dates_with_any_zone_never_panic(zone in "[+-]\\PC{1,4}") {
            let _ = parse_date(&format!("Tue, 3 Nov 2026 10:00:00 {zone}"));
        }
    }

    #[test]
    fn spf_envelope() {
        let v = "pass (mail.apache.org: domain of erin@example.org designates 1.2.3.4 as permitted sender) \
                 client-ip=1.2.3.4; envelope-from=\"Erin@Example.org\"; helo=mx.example.org;";
        assert_eq!(spf_envelope_from(v).as_deref(), Some("erin@example.org"));
        assert_eq!(spf_envelope_from("pass envelope-from=<>"), None);
        assert_eq!(spf_envelope_from("none"), None);
    }

    #[test]
    fn addresses() {
        let l = parse_address_list("\"Doe, Jane\" <Jane@Example.ORG>, bob@apache.org (Bob B), <c@d.invalid>");
        assert_eq!(l.len(), 3);
        assert_eq!((l[0].name.as_str(), l[0].address.as_str()), ("Doe, Jane", "jane@example.org"));
        assert_eq!((l[1].name.as_str(), l[1].address.as_str()), ("Bob B", "bob@apache.org"));
        assert_eq!(l[2].address, "c@d");
    }
}

#[cfg(test)]
mod thread_tests {
    use super::*;

    fn mail(id: &str, reply: &str, from: &str, subject: &str, body: &str) -> String {
        let reply = if reply.is_empty() {
            String::new()
        } else {
            format!("In-Reply-To: <{reply}>\nReferences: <{reply}>\n")
        };
        format!(
            "From {from} Mon Jan  5 00:00:00 2026\nMessage-ID: <{id}>\n{reply}From: {from}\nSubject: {subject}\nDate: Mon, 5 Jan 2026 00:00:00 +0000\n\n{body}\n\n"
        )
    }

    /// Finding 3 of the trust-chain issue: ballots came from any mbox, whatever thread it held.
    /// Only mails that answer the vote's own Message-ID (directly or down the thread) count.
    #[test]
    fn only_the_votes_own_thread_is_read() {
        let mbox = [
            mail("root@x", "", "rm@apache.org", "[VOTE] Release Apache Foo 1.0", "Please vote."),
            mail("a@x", "root@x", "alice@apache.org", "Re: [VOTE] Release Apache Foo 1.0", "+1"),
            mail("b@x", "a@x", "bob@apache.org", "Re: [VOTE] Release Apache Foo 1.0", "+1 (binding)"),
            // An invented thread with the same subject, and a mail answering it.
            mail("fake@x", "", "mallory@apache.org", "[VOTE] Release Apache Foo 1.0", "Please vote."),
            mail("f1@x", "fake@x", "eve@apache.org", "Re: [VOTE] Release Apache Foo 1.0", "+1"),
            mail("f2@x", "f1@x", "trudy@apache.org", "Re: [VOTE] Release Apache Foo 1.0", "+1"),
        ]
        .concat();
        let messages = parse_mbox(mbox.as_bytes()).unwrap();
        assert_eq!(messages[2].replies_to, ["a@x", "a@x"]);
        let ids: Vec<String> = thread(&messages, "<root@x>").into_iter().map(|m| m.message_id).collect();
        assert_eq!(ids, ["root@x", "a@x", "b@x"]);
        assert!(thread(&messages, "unknown@x").is_empty());
    }
}
