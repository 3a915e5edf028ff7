//! Delivery reports: what an SMS gateway says became of a message it accepted. Each gateway
//! posts its own format to `/api/v1/notifications/delivery-reports/{gateway}`; its adapter
//! reads it into a [`DeliveryReport`] (Africa's Talking: [`super::africastalking`], Orange:
//! [`super::orange_sms`]), and the store applies it to the outbox row whose
//! `provider_message_id` it names.
//!
//! Neither gateway signs its reports, so the URL carries a secret token
//! (`SMS_DELIVERY_REPORT_TOKEN`), compared in constant time ([`crate::secret::Secret::matches`]).

use std::str::FromStr;

use crate::store::Delivery;

/// A report, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    /// The id the gateway gave the message when it accepted it.
    pub provider_message_id: String,
    pub delivery: Delivery,
}

/// Why a report could not be read. `Display` is French (it is the answer's detail).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Rapport de remise illisible : {0}")]
pub struct ReportError(pub String);

/// A gateway that posts delivery reports, as its path segment names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportingGateway {
    Orange,
    AfricasTalking,
}

impl ReportingGateway {
    pub const ALL: [ReportingGateway; 2] =
        [ReportingGateway::Orange, ReportingGateway::AfricasTalking];

    /// The path segment, as in `SMS_PROVIDER`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportingGateway::Orange => "orange",
            ReportingGateway::AfricasTalking => "africastalking",
        }
    }

    /// Reads the gateway's report from the raw body.
    pub fn read(self, body: &[u8]) -> Result<DeliveryReport, ReportError> {
        match self {
            ReportingGateway::Orange => super::orange_sms::delivery_report(body),
            ReportingGateway::AfricasTalking => super::africastalking::delivery_report(body),
        }
    }
}

impl FromStr for ReportingGateway {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|g| g.as_str() == s).ok_or(())
    }
}

/// A required text field of a report, trimmed and not empty.
pub(super) fn required(value: Option<&str>, field: &str) -> Result<String, ReportError> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| ReportError(format!("champ « {field} » manquant")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateways_parse_from_their_segment() {
        for gateway in ReportingGateway::ALL {
            assert_eq!(gateway.as_str().parse(), Ok(gateway));
        }
        assert!("twilio".parse::<ReportingGateway>().is_err());
    }
}
