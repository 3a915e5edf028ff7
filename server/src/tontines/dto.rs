// Over 400 lines on purpose: the tontine routes' request and response types, with their OpenAPI
// schemas.
//! Bodies of the tontine and member routes, and their conversion into domain values.

use chrono::{DateTime, NaiveDate, Utc};
use kobiri_core::{
    Currency, FieldErrors, Frequency, GracePeriod, MemberLimits, PersonName, Phone, TontineCode,
    TontineRole, TontineType, bounded_text, tontine::check_period,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    date_input::DateInput,
    error::ApiError,
    money_input::MoneyInput,
    store::{Member, Tontine, TontinePatch},
};

const NAME_MAX: usize = 200;
const TEXT_MAX: usize = 5000;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01935f3e-8d3c-7c4a-9b1e-2f6a4d8c9e10", "name": "Tontine du marché Sandaga",
    "description": null, "code": "K7PXM2QA", "type": "rotative", "frequency": "mensuel",
    "contribution_amount": "5000", "currency": "XOF", "max_members": 12, "min_members": 3,
    "start_date": "2027-01-31", "end_date": null, "rules": null, "penalty_amount": "500",
    "grace_period_days": 3, "is_active": true, "is_public": false,
    "created_by_id": "01935f3e-8d3c-7c4a-9b1e-2f6a4d8c9e11", "member_count": 5, "is_full": false,
    "total_pot": "25000", "created_at": "2026-11-24T08:00:00Z", "updated_at": "2026-11-24T08:00:00Z"
}))]
pub struct TontineResponse {
    pub id: uuid::Uuid,
    pub name: String,
    pub description: Option<String>,
    pub code: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub frequency: String,
    pub contribution_amount: String,
    pub currency: String,
    pub max_members: u32,
    pub min_members: u32,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub rules: Option<String>,
    pub penalty_amount: String,
    pub grace_period_days: u32,
    pub is_active: bool,
    pub is_public: bool,
    pub created_by_id: uuid::Uuid,
    pub member_count: u32,
    pub is_full: bool,
    /// Contribution × active members: what one session collects when everyone pays.
    pub total_pot: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Tontine> for TontineResponse {
    fn from(t: Tontine) -> Self {
        let total_pot = t
            .contribution
            .checked_mul(t.member_count)
            .map_or_else(|_| "0".to_owned(), |a| a.to_wire_string());
        Self {
            id: t.id.as_uuid(),
            is_full: t.is_full(),
            name: t.name,
            description: t.description,
            code: t.code.as_str().to_owned(),
            kind: t.kind.as_str().to_owned(),
            frequency: t.frequency.as_str().to_owned(),
            contribution_amount: t.contribution.to_wire_string(),
            currency: t.contribution.currency().as_str().to_owned(),
            max_members: t.max_members,
            min_members: t.min_members,
            start_date: t.start_date,
            end_date: t.end_date,
            rules: t.rules,
            penalty_amount: t.penalty.to_wire_string(),
            grace_period_days: t.grace_period_days,
            is_active: t.is_active,
            is_public: t.is_public,
            created_by_id: t.created_by_id.as_uuid(),
            member_count: t.member_count,
            total_pot,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberResponse {
    pub id: uuid::Uuid,
    pub user_id: uuid::Uuid,
    pub tontine_id: uuid::Uuid,
    pub role: String,
    pub order_position: Option<u32>,
    pub is_active: bool,
    pub joined_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
    pub total_contributions: String,
    pub total_received: String,
    pub missed_payments: u32,
    /// Shown to the member, and to the tontine's collectors, treasurers, presidents and
    /// admins; `null` for the other members.
    pub user_email: Option<String>,
    pub user_name: String,
    /// Like `user_email`: `null` for members who may not see it.
    pub user_phone: Option<String>,
}

impl MemberResponse {
    /// The member as `access`'s caller may see them: without e-mail and phone unless they
    /// are the caller's own or the caller may see members' contacts.
    pub fn shown_to(mut self, access: &super::TontineAccess) -> Self {
        if !access.sees_contacts_of(kobiri_core::UserId::from_uuid(self.user_id)) {
            self.user_email = None;
            self.user_phone = None;
        }
        self
    }
}

impl From<Member> for MemberResponse {
    fn from(m: Member) -> Self {
        Self {
            id: m.id.as_uuid(),
            user_id: m.user_id.as_uuid(),
            tontine_id: m.tontine_id.as_uuid(),
            role: m.role.as_str().to_owned(),
            order_position: m.order_position,
            is_active: m.is_active,
            joined_at: m.joined_at,
            left_at: m.left_at,
            total_contributions: m.total_contributions.to_wire_string(),
            total_received: m.total_received.to_wire_string(),
            missed_payments: m.missed_payments,
            user_email: m.user_email,
            user_name: m.user_name,
            user_phone: Some(m.user_phone.as_str().to_owned()),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "name": "Tontine du marché Sandaga", "type": "rotative", "frequency": "mensuel",
    "contribution_amount": 5000, "currency": "XOF", "max_members": 12, "min_members": 3,
    "start_date": "2027-01-31", "penalty_amount": "500", "grace_period_days": 3
}))]
pub struct CreateTontineRequest {
    pub name: String,
    pub description: Option<String>,
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "rotative")]
    pub kind: TontineType,
    #[schema(value_type = String, example = "mensuel")]
    pub frequency: Frequency,
    pub contribution_amount: MoneyInput,
    /// ISO 4217; `FCFA` means XOF. Default XOF.
    pub currency: Option<String>,
    pub max_members: Option<u32>,
    pub min_members: Option<u32>,
    /// A calendar date (an RFC 3339 instant is read as its UTC date).
    pub start_date: DateInput,
    /// A calendar date (an RFC 3339 instant is read as its UTC date).
    pub end_date: Option<DateInput>,
    pub rules: Option<String>,
    pub penalty_amount: Option<MoneyInput>,
    pub grace_period_days: Option<u32>,
    pub is_public: Option<bool>,
}

/// A tontine creation, parsed.
#[derive(Debug)]
pub struct TontineDraft {
    pub name: String,
    pub description: Option<String>,
    pub kind: TontineType,
    pub frequency: Frequency,
    pub contribution: kobiri_core::Amount,
    pub limits: MemberLimits,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub rules: Option<String>,
    pub penalty: kobiri_core::Amount,
    pub grace: GracePeriod,
    pub is_public: bool,
}

fn required_text(errors: &mut FieldErrors, field: &str, value: &str, max: usize) -> Option<String> {
    match errors.check(field, bounded_text(value, max)) {
        Some(Some(v)) => Some(v),
        Some(None) => {
            errors.push(field, "ce champ ne peut pas être vide");
            None
        }
        None => None,
    }
}

fn optional_text(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Option<String> {
    value.and_then(|v| errors.check(field, bounded_text(v, max)).flatten())
}

impl TryFrom<CreateTontineRequest> for TontineDraft {
    type Error = ApiError;

    fn try_from(r: CreateTontineRequest) -> Result<Self, ApiError> {
        let mut e = FieldErrors::new();
        let name = required_text(&mut e, "name", &r.name, NAME_MAX);
        let description = optional_text(&mut e, "description", r.description.as_deref(), TEXT_MAX);
        let rules = optional_text(&mut e, "rules", r.rules.as_deref(), TEXT_MAX);
        let currency = match r.currency.as_deref() {
            None => Some(Currency::default()),
            Some(c) => e.check("currency", Currency::parse(c)),
        };
        let limits = e.check(
            "max_members",
            MemberLimits::new(r.min_members.unwrap_or(3), r.max_members.unwrap_or(12)),
        );
        let grace = e.check(
            "grace_period_days",
            GracePeriod::new(r.grace_period_days.unwrap_or(3)),
        );
        let (start_date, end_date) = (r.start_date.date(), r.end_date.map(DateInput::date));
        e.check("end_date", check_period(start_date, end_date));
        let (contribution, penalty) = match currency {
            Some(c) => (
                e.check(
                    "contribution_amount",
                    r.contribution_amount
                        .amount(c)
                        .and_then(|a| a.require_positive()),
                ),
                match &r.penalty_amount {
                    None => Some(kobiri_core::Amount::zero(c)),
                    Some(p) => e.check("penalty_amount", p.amount(c)),
                },
            ),
            None => (None, None),
        };
        match (name, contribution, penalty, limits, grace) {
            (Some(name), Some(contribution), Some(penalty), Some(limits), Some(grace))
                if e.is_empty() =>
            {
                Ok(Self {
                    name,
                    description,
                    kind: r.kind,
                    frequency: r.frequency,
                    contribution,
                    limits,
                    start_date,
                    end_date,
                    rules,
                    penalty,
                    grace,
                    is_public: r.is_public.unwrap_or(false),
                })
            }
            _ => Err(ApiError::validation(e)),
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"name": "Tontine Sandaga 2027", "penalty_amount": 1000}))]
pub struct UpdateTontineRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub rules: Option<String>,
    pub max_members: Option<u32>,
    pub penalty_amount: Option<MoneyInput>,
    pub grace_period_days: Option<u32>,
    pub is_public: Option<bool>,
    pub is_active: Option<bool>,
}

impl UpdateTontineRequest {
    /// Parses the update against the tontine it changes (its currency, its minimum, its
    /// current member count).
    pub fn into_patch(self, t: &Tontine) -> Result<TontinePatch, ApiError> {
        let mut e = FieldErrors::new();
        let name = self
            .name
            .and_then(|n| required_text(&mut e, "name", &n, NAME_MAX));
        let description = self
            .description
            .map(|d| optional_text(&mut e, "description", Some(&d), TEXT_MAX));
        let rules = self
            .rules
            .map(|d| optional_text(&mut e, "rules", Some(&d), TEXT_MAX));
        let max_members = self.max_members.and_then(|max| {
            let limits = e.check("max_members", MemberLimits::new(t.min_members, max))?;
            if limits.max() < t.member_count {
                e.push("max_members", "inférieur au nombre de membres actuels");
                return None;
            }
            Some(limits.max())
        });
        let penalty = self
            .penalty_amount
            .and_then(|p| e.check("penalty_amount", p.amount(t.currency())));
        let grace = self.grace_period_days.and_then(|g| {
            e.check("grace_period_days", GracePeriod::new(g))
                .map(GracePeriod::days)
        });
        e.into_result().map_err(ApiError::validation)?;
        Ok(TontinePatch {
            name,
            description,
            rules,
            max_members,
            penalty,
            grace_period_days: grace,
            is_public: self.is_public,
            is_active: self.is_active,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"code": "k7pxm2qa"}))]
pub struct JoinRequest {
    pub code: String,
}

impl JoinRequest {
    pub fn code(&self) -> Result<TontineCode, ApiError> {
        TontineCode::parse(&self.code).map_err(|e| ApiError::field("code", e))
    }
}

/// `{user_id, role?, order_position?}`, `{email, role?}`, or `{phone, first_name, last_name,
/// role?}` (a member without a smartphone). An existing account with a password is invited,
/// not added: names are then not needed with a phone.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"phone": "+221 76 555 12 34", "first_name": "Fatou", "last_name": "Ndiaye"}))]
pub struct AddMemberRequest {
    pub user_id: Option<uuid::Uuid>,
    /// The e-mail address of an existing account, which is invited.
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[schema(value_type = Option<String>, example = "membre")]
    pub role: Option<TontineRole>,
    pub order_position: Option<u32>,
}

/// Who to add, parsed.
#[derive(Debug)]
pub enum NewMemberTarget {
    Existing(kobiri_core::UserId),
    ByEmail(kobiri_core::Email),
    ByPhone {
        phone: Phone,
        first_name: PersonName,
        last_name: PersonName,
    },
}

impl AddMemberRequest {
    pub fn target(&self) -> Result<NewMemberTarget, ApiError> {
        if let Some(id) = self.user_id {
            return Ok(NewMemberTarget::Existing(kobiri_core::UserId::from_uuid(
                id,
            )));
        }
        let mut e = FieldErrors::new();
        if let (Some(email), None) = (self.email.as_deref(), self.phone.as_deref()) {
            return kobiri_core::Email::parse(email)
                .map(NewMemberTarget::ByEmail)
                .map_err(|err| ApiError::field("email", err));
        }
        let phone = match self.phone.as_deref() {
            Some(p) => e.check("phone", Phone::parse(p)),
            None => {
                e.push("user_id", "user_id ou phone requis");
                None
            }
        };
        let first = e.check(
            "first_name",
            PersonName::parse(self.first_name.as_deref().unwrap_or_default()),
        );
        let last = e.check(
            "last_name",
            PersonName::parse(self.last_name.as_deref().unwrap_or_default()),
        );
        match (phone, first, last) {
            (Some(phone), Some(first_name), Some(last_name)) if e.is_empty() => {
                Ok(NewMemberTarget::ByPhone {
                    phone,
                    first_name,
                    last_name,
                })
            }
            _ => Err(ApiError::validation(e)),
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"role": "tresorier"}))]
pub struct UpdateMemberRequest {
    #[schema(value_type = Option<String>, example = "tresorier")]
    pub role: Option<TontineRole>,
    pub order_position: Option<u32>,
    pub is_active: Option<bool>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TontineListQuery {
    /// `true` lists public tontines instead of the caller's.
    pub is_public: Option<bool>,
    /// `true` adds deactivated tontines: all of them for an admin, those the caller manages
    /// (treasurer, president) for anyone else. Ignored with `is_public`.
    pub include_inactive: Option<bool>,
    pub page: Option<u32>,
    pub page_size: Option<u32>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberListQuery {
    /// `true` adds the members who left, for the tontine's treasurer, president and admins;
    /// ignored for others.
    pub include_inactive: Option<bool>,
}
