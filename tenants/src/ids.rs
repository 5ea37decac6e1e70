//! Newtype identifiers and validated values of the tenant registry.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::StoreError;

/// The stable id of a tenant (an MSP). Slugs may be renamed; ids never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TenantId(pub i64);

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Host labels that belong to the platform and can never be a tenant's slug.
const RESERVED_SLUGS: &[&str] = &[
    "admin",
    "api",
    "app",
    "assets",
    "auth",
    "cdn",
    "inbound",
    "mail",
    "metrics",
    "platform",
    "portico",
    "smtp",
    "imap",
    "static",
    "status",
    "www",
    "localhost",
];

/// A tenant's host label: `<slug>.<base domain>`. Lower-case ASCII letters, digits
/// and inner hyphens, 2 to 40 characters, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TenantSlug(String);

impl TenantSlug {
    /// Validates a slug as typed by an operator.
    pub fn parse(input: &str) -> Result<Self, StoreError> {
        let invalid = |reason: &str| StoreError::Invalid {
            field: "slug",
            reason: reason.to_owned(),
        };
        let slug = input.trim();
        if slug.len() < 2 || slug.len() > 40 {
            return Err(invalid("must be 2 to 40 characters long"));
        }
        if !slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(invalid(
                "may contain only lower-case letters a-z, digits and hyphens",
            ));
        }
        if !slug.as_bytes()[0].is_ascii_lowercase() {
            return Err(invalid("must start with a letter"));
        }
        if slug.ends_with('-') || slug.contains("--") {
            return Err(invalid(
                "must not end with a hyphen or contain two in a row",
            ));
        }
        if RESERVED_SLUGS.contains(&slug) {
            return Err(invalid("is reserved for the platform"));
        }
        Ok(TenantSlug(slug.to_owned()))
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The life-cycle state of a tenant, as routing sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    /// Its schema is being created; not yet served.
    Provisioning,
    /// Served normally.
    Active,
    /// Served a 503 page; data kept.
    Suspended,
    /// Being removed; served as unknown.
    Deleting,
}

impl TenantStatus {
    /// The value stored in the `tenants.status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Provisioning => "provisioning",
            TenantStatus::Active => "active",
            TenantStatus::Suspended => "suspended",
            TenantStatus::Deleting => "deleting",
        }
    }

    /// Reads the stored value; anything unknown is treated as not servable.
    pub fn from_db(value: &str) -> Self {
        match value {
            "active" => TenantStatus::Active,
            "suspended" => TenantStatus::Suspended,
            "provisioning" => TenantStatus::Provisioning,
            _ => TenantStatus::Deleting,
        }
    }
}

/// The roles a person or an API token can hold inside a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Configures the MSP's portal, organizations, SLAs and plugins.
    MspAdmin,
    /// Works tickets and devices of every customer.
    Technician,
    /// A customer's responsible person: sees the whole organization.
    MainContact,
    /// A customer's end user: sees their own tickets.
    Contact,
}

impl Role {
    /// Every role, in order of decreasing reach.
    pub const ALL: [Role; 4] = [
        Role::MspAdmin,
        Role::Technician,
        Role::MainContact,
        Role::Contact,
    ];

    /// The stored and command-line spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::MspAdmin => "msp_admin",
            Role::Technician => "technician",
            Role::MainContact => "main_contact",
            Role::Contact => "contact",
        }
    }

    /// Parses the stored or command-line spelling.
    pub fn parse(input: &str) -> Result<Self, StoreError> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == input)
            .ok_or_else(|| StoreError::Invalid {
                field: "role",
                reason: format!(
                    "`{input}` is not one of msp_admin, technician, main_contact, contact"
                ),
            })
    }
}

/// A lower-cased e-mail address with the shape `local@domain.tld`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Validates the address's shape; deliverability is the mail channel's concern.
    pub fn parse(input: &str) -> Result<Self, StoreError> {
        let address = input.trim().to_lowercase();
        let invalid = || StoreError::Invalid {
            field: "email",
            reason: format!("`{}` is not an e-mail address", input.trim()),
        };
        let (local, domain) = address.split_once('@').ok_or_else(invalid)?;
        let well_formed = !local.is_empty()
            && local.len() <= 64
            && address.len() <= 254
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !address.chars().any(|c| c.is_whitespace() || c.is_control())
            && !domain.contains('@');
        if well_formed {
            Ok(EmailAddress(address))
        } else {
            Err(invalid())
        }
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("demo")]
    #[case("acme-it")]
    #[case("msp42")]
    fn valid_slugs_are_accepted(#[case] input: &str) {
        assert_eq!(
            TenantSlug::parse(input).map(|s| s.0).ok(),
            Some(input.to_owned())
        );
    }

    #[rstest]
    #[case("a")]
    #[case("Acme")]
    #[case("1acme")]
    #[case("acme-")]
    #[case("ac--me")]
    #[case("acme.it")]
    #[case("admin")]
    #[case("www")]
    #[case("ümlaut")]
    fn invalid_slugs_are_refused(#[case] input: &str) {
        assert!(matches!(
            TenantSlug::parse(input),
            Err(StoreError::Invalid { field: "slug", .. })
        ));
    }

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            EmailAddress::parse(" Anna@Example.COM ").map(|e| e.0).ok(),
            Some("anna@example.com".to_owned())
        );
        assert!(EmailAddress::parse("anna").is_err());
        assert!(EmailAddress::parse("anna@localhost").is_err());
        assert!(EmailAddress::parse("an na@example.com").is_err());
    }

    #[test]
    fn roles_round_trip_through_their_spelling() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()).ok(), Some(role));
        }
        assert!(Role::parse("root").is_err());
    }
}
