//! Ballots of release votes. Every ballot is kept; the tally counts each voter's latest.

use atr_core::ids::{ProjectKey, ReleaseKey, VersionKey};
use atr_core::model::{Ballot, VoteRound};
use rusqlite::params;

use super::{Tx, parse_col, parse_opt, rev, ts};
use crate::error::{DbContext, StorageError, insert_error};

const COLUMNS: &str = "voter, voter_name, choice, binding, comment, vote_seq, vote_round, revision_number, cast_at, manifest_digest";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Ballot> {
    Ok(Ballot {
        voter: parse_opt(r, 0)?,
        voter_name: r.get(1)?,
        choice: parse_col(r, 2)?,
        binding: r.get(3)?,
        comment: r.get(4)?,
        vote_seq: r.get(5)?,
        vote_round: parse_col(r, 6)?,
        revision_number: rev(r, 7)?,
        cast_at: ts(r, 8)?,
        manifest_digest: r.get(9)?,
    })
}

impl Tx<'_> {
    /// Records a ballot on a release's vote; returns its id.
    pub fn insert_ballot(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
        b: &Ballot,
    ) -> Result<i64, StorageError> {
        self.conn()
            .execute(
                &format!(
                    "INSERT INTO ballots (project_key, version_key, {COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
                ),
                params![
                    project.as_str(),
                    version.as_str(),
                    b.voter.as_ref().map(|u| u.as_str()),
                    b.voter_name,
                    b.choice.as_str(),
                    b.binding,
                    b.comment,
                    b.vote_seq,
                    b.vote_round.as_str(),
                    b.revision_number.get(),
                    b.cast_at.unix(),
                    b.manifest_digest,
                ],
            )
            .map_err(insert_error("ballot on release", ReleaseKey::new(project.clone(), version.clone())))?;
        Ok(self.conn().last_insert_rowid())
    }

    /// The ballots of one vote (sequence number and round) of a release, in the order cast.
    pub fn ballots(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
        vote_seq: u32,
        round: VoteRound,
    ) -> Result<Vec<Ballot>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM ballots WHERE project_key = ?1 AND version_key = ?2 AND vote_seq = ?3
                   AND vote_round = ?4 ORDER BY cast_at, id"
            ))
            .doing("reading ballots")?;
        stmt.query_map(params![project.as_str(), version.as_str(), vote_seq, round.as_str()], row)
            .doing("reading ballots")?
            .collect::<Result<_, _>>()
            .doing("reading ballots")
    }
}
