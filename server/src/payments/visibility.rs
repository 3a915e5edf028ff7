//! Who sees which payments, and how much of each: core's [`payment_view`] applied to stored
//! payments. REST listings, `GET /payments/{id}`, the receipt check and the sync pull all
//! take what they show from here.

use std::borrow::Cow;

use kobiri_core::{PaymentView, PlatformRole, TontineRole, UserId, payment_view};

use super::dto::PaymentResponse;
use crate::{
    store::{Page, Payment},
    tontines::TontineAccess,
};

/// Someone looking at one tontine's payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    user: UserId,
    platform: PlatformRole,
    role: Option<TontineRole>,
    contacts: bool,
}

impl Viewer {
    pub fn new(access: &TontineAccess, caller: UserId) -> Self {
        Self {
            user: caller,
            platform: access.platform,
            role: access.member.as_ref().map(|m| m.role),
            contacts: access.may(kobiri_core::Action::ViewMemberContacts),
        }
    }

    /// How much of `p` the viewer sees; `None`: nothing (the payment is a 404 to them).
    pub fn view(&self, p: &Payment) -> Option<PaymentView> {
        payment_view(self.platform, self.role, p.user_id == self.user)
    }

    /// Whether the viewer sees every payment of the tontine in full; those who do all see the
    /// same rows (sync keeps one checksum for all of them).
    pub fn sees_all_in_full(&self) -> bool {
        payment_view(self.platform, self.role, false) == Some(PaymentView::Full)
    }

    /// Whether the viewer sees every member's phone (collectors and up, admins): the rule of
    /// `GET /tontines/{id}/members`, applied to the member rows sync sends.
    pub fn sees_contacts(&self) -> bool {
        self.contacts
    }

    /// Whose view this is, as sync's digest caches key it: `None` for everyone who sees all
    /// in full, else the viewer (their own payments are full, the others' public).
    pub fn key(&self) -> Option<UserId> {
        (!self.sees_all_in_full()).then_some(self.user)
    }

    /// `p` as the viewer may see it, or `None`.
    pub fn see(&self, p: Payment) -> Option<Payment> {
        match self.view(&p)? {
            PaymentView::Full => Some(p),
            PaymentView::Public => Some(public_part(p)),
        }
    }

    /// Like [`Viewer::see`], copying only when something must be hidden.
    pub fn see_ref<'a>(&self, p: &'a Payment) -> Option<Cow<'a, Payment>> {
        match self.view(p)? {
            PaymentView::Full => Some(Cow::Borrowed(p)),
            PaymentView::Public => Some(Cow::Owned(public_part(p.clone()))),
        }
    }

    /// A page of the tontine's payments as the viewer may see them. The caller's query only
    /// selects payments the viewer sees (a member sees every payment of their tontine); one
    /// they may not see would be left out.
    pub fn show(&self, page: Page<Payment>) -> Page<PaymentResponse> {
        Page {
            items: page
                .items
                .into_iter()
                .filter_map(|p| self.see(p))
                .map(PaymentResponse::from)
                .collect(),
            total: page.total,
            page: page.page,
            page_size: page.page_size,
            pages: page.pages,
        }
    }
}

/// What [`PaymentView::Public`] leaves of a payment: who paid how much, when, how, and the
/// outcome; no phone number, provider reference, proof or receipt code.
fn public_part(p: Payment) -> Payment {
    Payment {
        operator_reference: None,
        operator_transaction_id: None,
        phone_number: None,
        proof_url: None,
        proof_description: None,
        receipt_code: None,
        user_phone: None,
        ..p
    }
}
