//! How sms and email send one message, at most once: the case's opt-out checked first (one GET
//! per case, cached here and shared by every worker), the send journaled before it leaves, and
//! any answer that may hide a delivery settled `unknown`, never resent.
//!
//! 429 and 5xx answers are retried by the shared client: a 5xx is an answer, so the server says
//! it did not take the message (if Kayse ever schedules and then answers 5xx, that would send
//! twice; the docs advise retrying 5xx, and we follow them).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use tokio::sync::OnceCell;

use super::Channel;
use super::rows::Ready;
use crate::engine::{Command, Cx, Flow, Job};
use crate::outcome::Outcome;
use crate::record::journal::RowRecord;
use crate::send::CallError;

const LOST: &str = "no answer came (timeout or dropped connection): the message may have been sent, so it is not resent automatically; check in Kayse before sending it again";

/// What the opt-out check of a case found.
#[derive(Debug, Clone)]
enum OptOut {
    /// The channel is open: send.
    Clear,
    /// Every client of the case opted out of the channel.
    Out,
    /// The case could not be read: the message is not sent.
    Unreadable(String),
    /// The GET ended the run's sending (key, budget, stopping).
    Halt(CallError),
}

/// The message command: one row per request.
pub struct Messenger {
    pub channel: Channel,
    pub check_opt_out: bool,
    /// Case id → the one check of that case, shared by every worker.
    checks: Mutex<HashMap<u64, Arc<OnceCell<OptOut>>>>,
}

impl Messenger {
    pub fn new(channel: Channel, check_opt_out: bool) -> Messenger {
        Messenger {
            channel,
            check_opt_out,
            checks: Mutex::new(HashMap::new()),
        }
    }

    async fn opt_out(&self, cx: &Cx<Self>, case_id: u64) -> OptOut {
        let cell = {
            let mut map = self.checks.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(case_id).or_default().clone()
        };
        cell.get_or_init(|| async {
            match cx.client().get(&crate::entity::CASES, case_id).await {
                Ok(case) => {
                    let out = match self.channel {
                        Channel::Sms => case.flag("sms_opted_out"),
                        Channel::Email => case.flag("email_opted_out"),
                    };
                    if out == Some(true) {
                        OptOut::Out
                    } else {
                        OptOut::Clear
                    }
                }
                Err(e) if e.ends_run() => OptOut::Halt(e),
                Err(CallError::Rejected { status: 404, .. }) => {
                    OptOut::Unreadable(format!("case {case_id} not found (404)"))
                }
                Err(e) => OptOut::Unreadable(e.to_string()),
            }
        })
        .await
        .clone()
    }

    /// Send one message (after its opt-out check) and settle its row.
    async fn one(&self, cx: &Cx<Self>, item: (usize, Ready)) -> Flow {
        let (row, m) = &item;
        let settle = |outcome, batch, error: String| RowRecord {
            row: *row,
            batch,
            outcome,
            id: None,
            error: Some(error),
            data: None,
        };
        if self.check_opt_out {
            let verdict = match self.opt_out(cx, m.case_id).await {
                OptOut::Clear => None,
                OptOut::Out => Some((
                    Outcome::OptedOut,
                    format!("case {} is opted out of {}", m.case_id, self.channel.name()),
                )),
                OptOut::Unreadable(why) => Some((
                    Outcome::Failed,
                    format!("not sent: could not check the case's opt-out: {why}"),
                )),
                OptOut::Halt(e) => return cx.halted(&e).await,
            };
            if let Some((outcome, why)) = verdict {
                cx.done(vec![settle(outcome, None, why)]).await;
                return Flow::Go;
            }
        }
        let Some(batch) = cx.sent(std::slice::from_ref(&item)).await else {
            return Flow::Stop;
        };
        let answer = match self.channel {
            Channel::Sms => {
                cx.client()
                    .send_sms(m.case_id, m.client_id, &m.message)
                    .await
            }
            Channel::Email => {
                let subject = m.subject.as_deref().unwrap_or_default();
                cx.client()
                    .send_email(m.case_id, m.client_id, subject, &m.message)
                    .await
            }
        };
        let (outcome, error) = match answer {
            Ok(_) => (Outcome::Sent, None),
            Err(CallError::Lost { last }) => (Outcome::Unknown, Some(format!("{LOST} ({last})"))),
            Err(e @ CallError::BadAnswer { .. }) => (
                Outcome::Unknown,
                Some(format!(
                    "{e}; the server may have scheduled it, so it is not resent"
                )),
            ),
            Err(e) if e.ends_run() && !e.maybe_applied() => {
                cx.release(batch, std::slice::from_ref(&item)).await;
                return cx.halted(&e).await;
            }
            Err(e) if e.maybe_applied() => (Outcome::Unknown, Some(format!("{LOST} ({e})"))),
            Err(e) => (Outcome::Failed, Some(format!("not sent: {e}"))),
        };
        let mut rec = settle(outcome, Some(batch), String::new());
        rec.error = error;
        cx.done(vec![rec]).await;
        Flow::Go
    }
}

impl Command for Messenger {
    type Item = (usize, Ready);

    fn key(item: &(usize, Ready)) -> usize {
        item.0
    }

    fn send<'a>(&'a self, cx: &'a Cx<Self>, job: Job<Self::Item>) -> BoxFuture<'a, Flow> {
        Box::pin(async move {
            for item in job.items {
                if self.one(cx, item).await == Flow::Stop {
                    return Flow::Stop;
                }
            }
            Flow::Go
        })
    }
}
