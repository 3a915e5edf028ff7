//! The stand-ins' ledger: payments and payouts, the scenario that ends them, and the lookups
//! every protocol module shares.

use std::sync::Mutex;

use rust_decimal::Decimal;

use super::lock;

/// How the payer (or the provider) ends the next payments and payouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeed,
    Fail,
    /// Pending for this many status queries, then succeeded ("timeout then late success").
    PendingFor(u32),
    /// Pending until the payer decides on the sandbox page ([`super::StandIn::decide`]).
    AwaitPayer,
}

/// Where a stand-in transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnState {
    Pending,
    Succeeded,
    Failed,
}

/// A payment or payout the stand-in knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txn {
    /// Our reference (order id, `X-Reference-Id`, `client_reference`, `transaction_id`, or
    /// the payout's idempotency key).
    pub reference: String,
    /// The stand-in's own id for it.
    pub operator_reference: String,
    pub amount: Decimal,
    pub currency: String,
    /// The payer's or beneficiary's number as received.
    pub party: String,
    pub notify_url: Option<String>,
    /// Orange's `notif_token`.
    pub secret: Option<String>,
    pub outcome: Outcome,
    /// Status queries answered so far.
    pub queries: u32,
}

impl Txn {
    /// The state after `queries` status queries.
    pub fn state(&self) -> TxnState {
        match self.outcome {
            Outcome::Succeed => TxnState::Succeeded,
            Outcome::Fail => TxnState::Failed,
            Outcome::PendingFor(n) if self.queries <= n => TxnState::Pending,
            Outcome::PendingFor(_) => TxnState::Succeeded,
            Outcome::AwaitPayer => TxnState::Pending,
        }
    }

    /// The state a callback announces: the outcome once reached.
    pub fn final_state(&self) -> TxnState {
        match self.outcome {
            Outcome::Fail => TxnState::Failed,
            Outcome::Succeed | Outcome::PendingFor(_) => TxnState::Succeeded,
            Outcome::AwaitPayer => TxnState::Pending,
        }
    }

    /// The provider's transaction id, once succeeded.
    pub fn transaction_id(&self) -> String {
        format!("TX-{}", self.operator_reference)
    }
}

/// A JSON number or string as a decimal amount.
pub(crate) fn decimal(value: &serde_json::Value) -> Option<Decimal> {
    match value {
        serde_json::Value::String(s) => s.parse().ok(),
        serde_json::Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

/// A new transaction to record, before the stand-in applies its scenario.
pub(crate) fn txn(reference: String, operator_reference: String, amount: Decimal) -> Txn {
    Txn {
        reference,
        operator_reference,
        amount,
        currency: String::new(),
        party: String::new(),
        notify_url: None,
        secret: None,
        outcome: Outcome::Succeed,
        queries: 0,
    }
}

pub(crate) fn insert_once(list: &Mutex<Vec<Txn>>, mut txn: Txn, outcome: Outcome) -> (Txn, bool) {
    let mut list = lock(list);
    if let Some(existing) = list.iter().find(|t| t.reference == txn.reference) {
        return (existing.clone(), false);
    }
    txn.outcome = outcome;
    list.push(txn.clone());
    (txn, true)
}

/// Ends the payment `reference` still awaiting its payer: `true` when it was awaiting.
pub(crate) fn decide(list: &Mutex<Vec<Txn>>, reference: &str, approve: bool) -> bool {
    let mut list = lock(list);
    match list
        .iter_mut()
        .find(|t| t.reference == reference && t.outcome == Outcome::AwaitPayer)
    {
        Some(txn) => {
            txn.outcome = if approve {
                Outcome::Succeed
            } else {
                Outcome::Fail
            };
            true
        }
        None => false,
    }
}

pub(crate) fn query(list: &Mutex<Vec<Txn>>, matches: impl Fn(&Txn) -> bool) -> Option<Txn> {
    let mut list = lock(list);
    let txn = list.iter_mut().find(|t| matches(t))?;
    txn.queries += 1;
    Some(txn.clone())
}
