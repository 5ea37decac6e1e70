//! Subscribers of domain events that the foundation itself provides. The e-mail,
//! webhook, live-update and plugin issues add theirs beside these.

use std::sync::Arc;

use futures::future::BoxFuture;
use portico_tenants::TenantDb;
use portico_tenants::outbox::{DeliveryError, Event, Subscriber};
use portico_tenants::people;
use portico_tenants::routing::{HostIndex, HostMatch};
use portico_tenants::workflow;

use crate::i18n::Locale;
use crate::mail::{Mailer, OutboundEmail};
use crate::settings::Settings;

/// Queues `email` durably in the tenant's outbound queue (once per event, recipient
/// and `what`); a message that can never be sent (a malformed address) is logged and
/// dropped, a storage failure is retried by the outbox.
async fn deliver(
    mailer: &Mailer,
    tenant: &TenantDb,
    event: &Event,
    email: &OutboundEmail,
    what: &'static str,
) -> Result<(), DeliveryError> {
    let letter = crate::mail::compose::Letter {
        to: email.to.clone(),
        kind: what,
        subject: email.subject.clone(),
        text: email.text.clone(),
        automatic: email.automatic,
        locale: email.locale,
        brand: mailer.brand(tenant).await,
        thread: None,
    };
    crate::mail::notify::queue(
        mailer,
        tenant,
        format!("ev:{}:{what}:{}", event.id, email.to),
        letter,
    )
    .await
}

/// The tenant setting: a message of the MSP's own that ends every invitation
/// e-mail (the welcome e-mail), such as how to reach the service desk by phone.
pub const WELCOME_MESSAGE_SETTING: &str = "welcome_message";

/// Sends the invitation e-mail when a person is created with `invite`.
pub struct InvitationMail {
    /// Outbound mail.
    pub mailer: Mailer,
    /// For the portal address in the message.
    pub settings: Settings,
    /// For the tenant's display name.
    pub hosts: Arc<HostIndex>,
}

impl InvitationMail {
    async fn send(&self, tenant: &TenantDb, event: &Event) -> Result<(), DeliveryError> {
        if event.event_type == "user.password_reset_requested" {
            return self.send_reset(tenant, event).await;
        }
        let wanted = matches!(
            event.event_type.as_str(),
            "user.created" | "user.invitation_requested"
        );
        if !wanted || event.payload["invite"] != serde_json::Value::Bool(true) {
            return Ok(());
        }
        let user_id = event.payload["user_id"]
            .as_i64()
            .ok_or_else(|| DeliveryError("event without user_id".into()))?;
        let user =
            match people::get_user(tenant, user_id, portico_tenants::policy::Scope::All).await {
                Ok(user) => user,
                // Deleted since: nobody to invite.
                Err(portico_tenants::StoreError::NotFound(_)) => return Ok(()),
                Err(error) => return Err(DeliveryError(error.to_string())),
            };
        if user.status != "invited" {
            return Ok(());
        }
        let portal = self.settings.tenant_url(tenant.slug());
        let name =
            match self
                .hosts
                .resolve(&format!("{}.{}", tenant.slug(), self.hosts.base_domain()))
            {
                HostMatch::Tenant(route) => route.name.to_string(),
                _ => tenant.slug().to_owned(),
            };
        let token = people::issue_invitation(tenant, user.id)
            .await
            .map_err(|e| DeliveryError(e.to_string()))?;
        let link = format!("{portal}/invite/{token}");
        let locale = Locale::from_tag(&user.locale).unwrap_or_default();
        let args = [
            ("tenant", name.as_str()),
            ("portal", portal.as_str()),
            ("email", user.email.as_str()),
            ("link", link.as_str()),
        ];
        let mut text = locale.text_with("invitation-body", &args);
        let welcome = portico_tenants::accounts::tenant_setting(tenant, WELCOME_MESSAGE_SETTING)
            .await
            .map_err(|e| DeliveryError(e.to_string()))?;
        if let Some(message) = welcome
            .as_ref()
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|m| !m.is_empty())
        {
            text = format!("{}\n\n{message}\n", text.trim_end());
        }
        let email = OutboundEmail {
            to: user.email.clone(),
            subject: locale.text_with("invitation-subject", &args),
            text,
            html: None,
            automatic: true,
            locale,
        };
        deliver(&self.mailer, tenant, event, &email, "invitation").await
    }
}

impl InvitationMail {
    async fn send_reset(&self, tenant: &TenantDb, event: &Event) -> Result<(), DeliveryError> {
        let user_id = event.payload["user_id"]
            .as_i64()
            .ok_or_else(|| DeliveryError("event without user_id".into()))?;
        let user =
            match people::get_user(tenant, user_id, portico_tenants::policy::Scope::All).await {
                Ok(user) => user,
                Err(portico_tenants::StoreError::NotFound(_)) => return Ok(()),
                Err(error) => return Err(DeliveryError(error.to_string())),
            };
        if user.status == "disabled" {
            return Ok(());
        }
        let token = portico_tenants::accounts::issue_password_reset(tenant, user.id)
            .await
            .map_err(|e| DeliveryError(e.to_string()))?;
        let portal = self.settings.tenant_url(tenant.slug());
        let name =
            match self
                .hosts
                .resolve(&format!("{}.{}", tenant.slug(), self.hosts.base_domain()))
            {
                HostMatch::Tenant(route) => route.name.to_string(),
                _ => tenant.slug().to_owned(),
            };
        let link = format!("{portal}/reset/{token}");
        let locale = Locale::from_tag(&user.locale).unwrap_or_default();
        let args = [
            ("tenant", name.as_str()),
            ("link", link.as_str()),
            ("email", user.email.as_str()),
        ];
        let email = OutboundEmail {
            to: user.email.clone(),
            subject: locale.text_with("password-reset-subject", &args),
            text: locale.text_with("password-reset-body", &args),
            html: None,
            automatic: true,
            locale,
        };
        deliver(&self.mailer, tenant, event, &email, "password_reset").await
    }
}

impl Subscriber for InvitationMail {
    fn name(&self) -> &'static str {
        "invitation-mail"
    }

    fn deliver<'a>(
        &'a self,
        tenant: &'a TenantDb,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.send(tenant, event))
    }
}

/// Tells a tenant's MSP admins when one of its custom domains changes state: verified
/// (a certificate follows), its DNS records gone (the grace period started, with
/// what the check found), disabled at the end of the grace period, or recovered.
pub struct DomainMail {
    /// Outbound mail.
    pub mailer: Mailer,
}

impl DomainMail {
    async fn send(&self, tenant: &TenantDb, event: &Event) -> Result<(), DeliveryError> {
        let (subject_id, body_id) = match event.event_type.as_str() {
            "domain.verified" => ("domain-verified-subject", "domain-verified-body"),
            "domain.grace_started" => ("domain-grace-subject", "domain-grace-body"),
            "domain.disabled" => ("domain-disabled-subject", "domain-disabled-body"),
            "domain.recovered" => ("domain-recovered-subject", "domain-recovered-body"),
            _ => return Ok(()),
        };
        let host = event.payload["host"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let problems: Vec<String> = event.payload["check"]["problems"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|p| p.as_str().map(|p| format!("- {p}")))
                    .collect()
            })
            .unwrap_or_default();
        let problems = problems.join("\n");
        let admins = people::list_users(tenant, portico_tenants::policy::Scope::All)
            .await
            .map_err(|e| DeliveryError(e.to_string()))?
            .into_iter()
            .filter(|u| u.role == portico_tenants::Role::MspAdmin && u.status != "disabled");
        for admin in admins {
            let locale = Locale::from_tag(&admin.locale).unwrap_or_default();
            let args = [("host", host.as_str()), ("problems", problems.as_str())];
            let email = OutboundEmail {
                to: admin.email.clone(),
                subject: locale.text_with(subject_id, &args),
                text: locale.text_with(body_id, &args),
                html: None,
                automatic: true,
                locale,
            };
            deliver(&self.mailer, tenant, event, &email, "domain_notice").await?;
        }
        Ok(())
    }
}

impl Subscriber for DomainMail {
    fn name(&self) -> &'static str {
        "domain-mail"
    }

    fn deliver<'a>(
        &'a self,
        tenant: &'a TenantDb,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.send(tenant, event))
    }
}

/// Sends approvers their approval e-mail (with a single-use link to the confirmation
/// page) when a ticket needs approval, and tells the requester when it was rejected,
/// with the reason.
pub struct ApprovalMail {
    /// Outbound mail.
    pub mailer: Mailer,
    /// For the portal address in the links.
    pub settings: Settings,
    /// For the tenant's display name.
    pub hosts: Arc<HostIndex>,
}

impl ApprovalMail {
    fn tenant_name(&self, tenant: &TenantDb) -> String {
        match self
            .hosts
            .resolve(&format!("{}.{}", tenant.slug(), self.hosts.base_domain()))
        {
            HostMatch::Tenant(route) => route.name.to_string(),
            _ => tenant.slug().to_owned(),
        }
    }

    async fn mail(
        &self,
        tenant: &TenantDb,
        event: &Event,
        email: OutboundEmail,
    ) -> Result<(), DeliveryError> {
        deliver(&self.mailer, tenant, event, &email, "approval").await
    }

    async fn send(&self, tenant: &TenantDb, event: &Event) -> Result<(), DeliveryError> {
        let failed = |e: portico_tenants::StoreError| DeliveryError(e.to_string());
        let Some(number) = event.payload["number"].as_i64() else {
            return Ok(());
        };
        match event.event_type.as_str() {
            "ticket.approval_requested" => {
                let ticket = match portico_tenants::tickets::get_ticket(
                    tenant,
                    number,
                    portico_tenants::tickets::Reader::SYSTEM,
                )
                .await
                {
                    Ok(ticket) => ticket,
                    Err(portico_tenants::StoreError::NotFound(_)) => return Ok(()),
                    Err(error) => return Err(failed(error)),
                };
                if ticket.approval_state.as_deref() != Some("pending") {
                    return Ok(());
                }
                let name = self.tenant_name(tenant);
                let portal = self.settings.tenant_url(tenant.slug());
                let approvers: Vec<i64> = event.payload["approvers"]
                    .as_array()
                    .map(|list| list.iter().filter_map(|v| v.as_i64()).collect())
                    .unwrap_or_default();
                for approver in approvers {
                    let user = match people::get_user(
                        tenant,
                        approver,
                        portico_tenants::policy::Scope::All,
                    )
                    .await
                    {
                        Ok(user) if user.status != "disabled" => user,
                        Ok(_) | Err(portico_tenants::StoreError::NotFound(_)) => continue,
                        Err(error) => return Err(failed(error)),
                    };
                    let token = match portico_tenants::approvals::issue_link(
                        tenant, number, approver,
                    )
                    .await
                    {
                        Ok(token) => token,
                        // Decided meanwhile: nothing more to ask.
                        Err(portico_tenants::StoreError::Refused { .. }) => return Ok(()),
                        Err(error) => return Err(failed(error)),
                    };
                    let link = format!("{portal}/approvals/{token}");
                    let locale = Locale::from_tag(&user.locale).unwrap_or_default();
                    let number = number.to_string();
                    let args = [
                        ("tenant", name.as_str()),
                        ("number", number.as_str()),
                        ("subject", ticket.subject.as_str()),
                        ("link", link.as_str()),
                    ];
                    self.mail(
                        tenant,
                        event,
                        OutboundEmail {
                            to: user.email.clone(),
                            subject: locale.text_with("approval-mail-subject", &args),
                            text: locale.text_with("approval-mail-body", &args),
                            html: None,
                            automatic: true,
                            locale,
                        },
                    )
                    .await?;
                }
                Ok(())
            }
            "ticket.approval_rejected" => {
                let Some(requester) = event.payload["requester_id"].as_i64() else {
                    return Ok(());
                };
                let user =
                    match people::get_user(tenant, requester, portico_tenants::policy::Scope::All)
                        .await
                    {
                        Ok(user) => user,
                        Err(portico_tenants::StoreError::NotFound(_)) => return Ok(()),
                        Err(error) => return Err(failed(error)),
                    };
                let subject = match portico_tenants::tickets::get_ticket(
                    tenant,
                    number,
                    portico_tenants::tickets::Reader::SYSTEM,
                )
                .await
                {
                    Ok(ticket) => ticket.subject,
                    Err(portico_tenants::StoreError::NotFound(_)) => return Ok(()),
                    Err(error) => return Err(failed(error)),
                };
                let name = self.tenant_name(tenant);
                let locale = Locale::from_tag(&user.locale).unwrap_or_default();
                let number = number.to_string();
                let reason = event.payload["reason"].as_str().unwrap_or_default();
                let args = [
                    ("tenant", name.as_str()),
                    ("number", number.as_str()),
                    ("subject", subject.as_str()),
                    ("reason", reason),
                ];
                self.mail(
                    tenant,
                    event,
                    OutboundEmail {
                        to: user.email.clone(),
                        subject: locale.text_with("approval-rejected-subject", &args),
                        text: locale.text_with("approval-rejected-body", &args),
                        html: None,
                        automatic: true,
                        locale,
                    },
                )
                .await
            }
            _ => Ok(()),
        }
    }
}

impl Subscriber for ApprovalMail {
    fn name(&self) -> &'static str {
        "approval-mail"
    }

    fn deliver<'a>(
        &'a self,
        tenant: &'a TenantDb,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.send(tenant, event))
    }
}

/// Tells the team of a low rating: the ticket's assignee, or with none every
/// technician and MSP admin.
pub struct LowRatingMail {
    /// Outbound mail.
    pub mailer: Mailer,
}

impl LowRatingMail {
    async fn send(&self, tenant: &TenantDb, event: &Event) -> Result<(), DeliveryError> {
        if event.event_type != "ticket.rated_low" {
            return Ok(());
        }
        let number = event.payload["number"]
            .as_i64()
            .unwrap_or_default()
            .to_string();
        let rating = event.payload["rating"]
            .as_i64()
            .unwrap_or_default()
            .to_string();
        let comment = event.payload["comment"].as_str().unwrap_or_default();
        let assignee = event.payload["assignee_id"].as_i64();
        let team: Vec<people::User> =
            people::list_users(tenant, portico_tenants::policy::Scope::All)
                .await
                .map_err(|e| DeliveryError(e.to_string()))?
                .into_iter()
                .filter(|u| u.status != "disabled")
                .filter(|u| match assignee {
                    Some(id) => u.id == id,
                    None => matches!(
                        u.role,
                        portico_tenants::Role::Technician | portico_tenants::Role::MspAdmin
                    ),
                })
                .collect();
        for member in team {
            let locale = Locale::from_tag(&member.locale).unwrap_or_default();
            let args = [
                ("number", number.as_str()),
                ("rating", rating.as_str()),
                ("comment", comment),
            ];
            let email = OutboundEmail {
                to: member.email.clone(),
                subject: locale.text_with("rating-low-subject", &args),
                text: locale.text_with("rating-low-body", &args),
                html: None,
                automatic: true,
                locale,
            };
            deliver(&self.mailer, tenant, event, &email, "low_rating").await?;
        }
        Ok(())
    }
}

impl Subscriber for LowRatingMail {
    fn name(&self) -> &'static str {
        "low-rating-mail"
    }

    fn deliver<'a>(
        &'a self,
        tenant: &'a TenantDb,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.send(tenant, event))
    }
}

/// Tells the technicians of the level a ticket was escalated to (the members of its
/// queue, or of every queue at that level: [`workflow::escalation_recipients`]).
pub struct EscalationMail {
    /// Outbound mail.
    pub mailer: Mailer,
}

impl EscalationMail {
    async fn send(&self, tenant: &TenantDb, event: &Event) -> Result<(), DeliveryError> {
        if event.event_type != "ticket.escalated" {
            return Ok(());
        }
        let failed = |e: portico_tenants::StoreError| DeliveryError(e.to_string());
        let (Some(number), Some(level)) = (
            event.payload["number"].as_i64(),
            event.payload["to_level"].as_i64(),
        ) else {
            return Ok(());
        };
        let subject = match portico_tenants::tickets::get_ticket(
            tenant,
            number,
            portico_tenants::tickets::Reader::SYSTEM,
        )
        .await
        {
            Ok(ticket) => ticket.subject,
            Err(portico_tenants::StoreError::NotFound(_)) => return Ok(()),
            Err(error) => return Err(failed(error)),
        };
        let recipients = workflow::escalation_recipients(tenant, number, level)
            .await
            .map_err(failed)?;
        let (number, level) = (number.to_string(), level.to_string());
        let reason = event.payload["reason"].as_str().unwrap_or_default();
        for id in recipients {
            let member =
                match people::get_user(tenant, id, portico_tenants::policy::Scope::All).await {
                    Ok(member) if member.status != "disabled" => member,
                    Ok(_) | Err(portico_tenants::StoreError::NotFound(_)) => continue,
                    Err(error) => return Err(failed(error)),
                };
            let locale = Locale::from_tag(&member.locale).unwrap_or_default();
            let args = [
                ("number", number.as_str()),
                ("subject", subject.as_str()),
                ("level", level.as_str()),
                ("reason", reason),
            ];
            let email = OutboundEmail {
                to: member.email.clone(),
                subject: locale.text_with("escalation-mail-subject", &args),
                text: locale.text_with("escalation-mail-body", &args),
                html: None,
                automatic: true,
                locale,
            };
            deliver(&self.mailer, tenant, event, &email, "escalation").await?;
        }
        Ok(())
    }
}

impl Subscriber for EscalationMail {
    fn name(&self) -> &'static str {
        "escalation-mail"
    }

    fn deliver<'a>(
        &'a self,
        tenant: &'a TenantDb,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.send(tenant, event))
    }
}
