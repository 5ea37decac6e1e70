//! Ticket notifications: the requester's copy of a new ticket, public replies (to
//! the requester and the watchers when the service desk answers, to the assignee when
//! the customer does), status changes, and SLA warnings to technicians. Each is queued
//! once per (event, recipient) in the tenant's outbound queue, threaded with the
//! ticket's earlier mail.

use std::sync::Arc;

use futures::future::BoxFuture;
use portico_tenants::outbox::{DeliveryError, Event, Subscriber};
use portico_tenants::policy::Scope;
use portico_tenants::routing::{HostIndex, HostMatch};
use portico_tenants::tickets::{self, Reader, Ticket};
use portico_tenants::{Role, StoreError, TenantDb, people, thread};

use super::compose::{Brand, Letter, TicketThread};
use super::{MailError, Mailer};
use crate::i18n::Locale;
use crate::settings::Settings;

/// The tenant setting holding the primary colour of its mail and portal (`#rrggbb`).
pub const BRAND_COLOR_SETTING: &str = "brand_color";
/// The brand colour of a tenant that set none.
pub const DEFAULT_COLOR: &str = "#2f6feb";

/// How long a close link works.
const CLOSE_LINK_DAYS: i64 = 30;

fn failed(error: StoreError) -> DeliveryError {
    DeliveryError(error.to_string())
}

/// The tenant's name and colour.
pub async fn brand(hosts: &HostIndex, tenant: &TenantDb) -> Brand {
    let name = match hosts.resolve(&format!("{}.{}", tenant.slug(), hosts.base_domain())) {
        HostMatch::Tenant(route) => route.name.to_string(),
        _ => tenant.slug().to_owned(),
    };
    let color = portico_tenants::accounts::tenant_setting(tenant, BRAND_COLOR_SETTING)
        .await
        .ok()
        .flatten()
        .and_then(|v| v.as_str().map(str::to_owned))
        .filter(|c| valid_color(c))
        .unwrap_or_else(|| DEFAULT_COLOR.to_owned());
    Brand { name, color }
}

/// `#rrggbb`.
pub fn valid_color(value: &str) -> bool {
    value.len() == 7 && value.starts_with('#') && value[1..].chars().all(|c| c.is_ascii_hexdigit())
}

/// Queues `letter`; a message that can never be sent (a malformed address) is logged
/// and dropped, a storage failure is retried by the outbox.
pub(crate) async fn queue(
    mailer: &Mailer,
    tenant: &TenantDb,
    dedup: String,
    letter: Letter,
) -> Result<(), DeliveryError> {
    match mailer.queue(tenant, dedup, letter).await {
        Ok(()) => Ok(()),
        Err(MailError::Invalid(reason)) => {
            tracing::warn!(reason = %reason, "mail not queued: invalid message");
            Ok(())
        }
        Err(MailError::Transport(reason)) => Err(DeliveryError(reason)),
    }
}

/// The subscriber.
pub struct TicketMail {
    /// Composes and queues.
    pub mailer: Mailer,
    /// For the portal address in links.
    pub settings: Settings,
    /// For the tenant's name.
    pub hosts: Arc<HostIndex>,
}

struct Recipient {
    id: Option<i64>,
    email: String,
    locale: Locale,
    requester: bool,
}

impl TicketMail {
    async fn ticket(
        &self,
        tenant: &TenantDb,
        number: i64,
    ) -> Result<Option<Ticket>, DeliveryError> {
        match tickets::get_ticket(tenant, number, Reader::SYSTEM).await {
            Ok(ticket) => Ok(Some(ticket)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(error) => Err(failed(error)),
        }
    }

    async fn person(
        &self,
        tenant: &TenantDb,
        id: i64,
    ) -> Result<Option<people::User>, DeliveryError> {
        match people::get_user(tenant, id, Scope::All).await {
            Ok(user) if user.status != "disabled" => Ok(Some(user)),
            Ok(_) | Err(StoreError::NotFound(_)) => Ok(None),
            Err(error) => Err(failed(error)),
        }
    }

    async fn requester(
        &self,
        tenant: &TenantDb,
        ticket: &Ticket,
    ) -> Result<Option<Recipient>, DeliveryError> {
        Ok(self
            .person(tenant, ticket.requester_id)
            .await?
            .map(|user| Recipient {
                id: Some(user.id),
                email: user.email,
                locale: Locale::from_tag(&user.locale).unwrap_or_default(),
                requester: true,
            }))
    }

    async fn staff(
        &self,
        tenant: &TenantDb,
        ticket: &Ticket,
    ) -> Result<Vec<Recipient>, DeliveryError> {
        let people = match ticket.assignee_id {
            Some(id) => self
                .person(tenant, id)
                .await?
                .into_iter()
                .collect::<Vec<_>>(),
            None => people::list_users(tenant, Scope::All)
                .await
                .map_err(failed)?
                .into_iter()
                .filter(|u| {
                    u.status != "disabled" && matches!(u.role, Role::Technician | Role::MspAdmin)
                })
                .collect(),
        };
        Ok(people
            .into_iter()
            .map(|user| Recipient {
                id: Some(user.id),
                email: user.email,
                locale: Locale::from_tag(&user.locale).unwrap_or_default(),
                requester: false,
            })
            .collect())
    }

    #[allow(clippy::too_many_arguments)]
    async fn send(
        &self,
        tenant: &TenantDb,
        event: &Event,
        ticket: &Ticket,
        to: &Recipient,
        kind: &'static str,
        subject_key: &str,
        body_key: &str,
        extra: &[(&'static str, &str)],
        automatic: bool,
    ) -> Result<(), DeliveryError> {
        let brand = brand(&self.hosts, tenant).await;
        let portal = self.settings.tenant_url(tenant.slug());
        let number = ticket.number.to_string();
        let link = format!("{portal}/tickets/{}", ticket.number);
        let mut args: Vec<(&'static str, &str)> = vec![
            ("tenant", brand.name.as_str()),
            ("number", number.as_str()),
            ("subject", ticket.subject.as_str()),
            ("link", link.as_str()),
        ];
        args.extend_from_slice(extra);
        let close_link = match (to.requester, to.id) {
            (true, Some(user)) if !matches!(ticket.status_class.as_str(), "closed") => {
                let expires = portico_tenants::clock::now_ms() / 1000 + CLOSE_LINK_DAYS * 86_400;
                let token =
                    self.mailer
                        .keys()
                        .close_token(tenant.slug(), ticket.number, user, expires);
                Some(format!("{portal}/mail/close/{token}"))
            }
            _ => None,
        };
        let references = portico_tenants::mail::thread_ids(tenant, ticket.number, &to.email, 19)
            .await
            .map_err(failed)?;
        let letter = Letter {
            to: to.email.clone(),
            kind,
            subject: to.locale.text_with(subject_key, &args),
            text: to.locale.text_with(body_key, &args),
            automatic,
            locale: to.locale,
            brand,
            thread: Some(TicketThread {
                number: ticket.number,
                nonce: event.id.to_string(),
                references,
                close_link,
            }),
        };
        queue(
            &self.mailer,
            tenant,
            format!("ev:{}:{kind}:{}", event.id, to.email),
            letter,
        )
        .await
    }

    async fn deliver_event(&self, tenant: &TenantDb, event: &Event) -> Result<(), DeliveryError> {
        let wanted = matches!(
            event.event_type.as_str(),
            "ticket.created"
                | "ticket.message_added"
                | "ticket.status_changed"
                | "ticket.sla_warning"
                | "ticket.sla_breached"
        );
        if !wanted {
            return Ok(());
        }
        let Some(number) = event.payload["number"].as_i64() else {
            return Ok(());
        };
        let Some(ticket) = self.ticket(tenant, number).await? else {
            return Ok(());
        };
        match event.event_type.as_str() {
            "ticket.created" => {
                if let Some(to) = self.requester(tenant, &ticket).await? {
                    let description = ticket.description.clone();
                    self.send(
                        tenant,
                        event,
                        &ticket,
                        &to,
                        "ticket_created",
                        "ticket-created-mail-subject",
                        "ticket-created-mail-body",
                        &[("description", description.as_str())],
                        true,
                    )
                    .await?;
                }
                Ok(())
            }
            "ticket.message_added" => {
                if event.payload["internal"].as_bool().unwrap_or(true) {
                    return Ok(());
                }
                let Some(message_id) = event.payload["message_id"].as_i64() else {
                    return Ok(());
                };
                let messages = thread::messages(tenant, number, Reader::SYSTEM)
                    .await
                    .map_err(failed)?;
                let Some(message) = messages.into_iter().find(|m| m.id == message_id) else {
                    return Ok(());
                };
                let author = match message.author_id {
                    Some(id) => self.person(tenant, id).await?,
                    None => None,
                };
                let by_staff = author
                    .as_ref()
                    .is_some_and(|a| matches!(a.role, Role::Technician | Role::MspAdmin));
                let author_email = author.as_ref().map(|a| a.email.clone()).unwrap_or_default();
                let author_name = author
                    .as_ref()
                    .map(|a| {
                        if a.display_name.is_empty() {
                            a.email.clone()
                        } else {
                            a.display_name.clone()
                        }
                    })
                    .unwrap_or_default();
                let mut recipients = Vec::new();
                if by_staff {
                    recipients.extend(self.requester(tenant, &ticket).await?);
                    for watcher in tickets::watchers(tenant, number, Reader::SYSTEM)
                        .await
                        .map_err(failed)?
                    {
                        recipients.push(Recipient {
                            id: None,
                            email: watcher,
                            locale: Locale::from_tag(&ticket.language).unwrap_or_default(),
                            requester: false,
                        });
                    }
                } else if ticket.assignee_id.is_some() {
                    // The customer answered: the assignee hears of it.
                    recipients.extend(self.staff(tenant, &ticket).await?);
                }
                let mut seen = Vec::new();
                for to in recipients {
                    if to.email == author_email || seen.contains(&to.email) {
                        continue;
                    }
                    seen.push(to.email.clone());
                    self.send(
                        tenant,
                        event,
                        &ticket,
                        &to,
                        "reply",
                        "ticket-reply-mail-subject",
                        "ticket-reply-mail-body",
                        &[
                            ("author", author_name.as_str()),
                            ("body", message.body.as_str()),
                        ],
                        false,
                    )
                    .await?;
                }
                Ok(())
            }
            "ticket.status_changed" => {
                let class = event.payload["class"].as_str().unwrap_or_default();
                if !matches!(class, "waiting" | "resolved" | "closed") {
                    return Ok(());
                }
                // Closed by the requester's own command or link: no need to tell them.
                let actor = event.payload["actor"].as_str().unwrap_or_default();
                if actor == format!("user:{}", ticket.requester_id) {
                    return Ok(());
                }
                if let Some(to) = self.requester(tenant, &ticket).await? {
                    let status_key = format!("ticket-status-{class}");
                    let status = to.locale.text(&status_key);
                    self.send(
                        tenant,
                        event,
                        &ticket,
                        &to,
                        "status",
                        "ticket-status-mail-subject",
                        "ticket-status-mail-body",
                        &[("status", status.as_str())],
                        true,
                    )
                    .await?;
                }
                Ok(())
            }
            _ => {
                let state = event.payload["state"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                for to in self.staff(tenant, &ticket).await? {
                    let state_text = to.locale.text(&format!("mail-sla-{state}"));
                    self.send(
                        tenant,
                        event,
                        &ticket,
                        &to,
                        "sla",
                        "ticket-sla-mail-subject",
                        "ticket-sla-mail-body",
                        &[("state", state_text.as_str())],
                        true,
                    )
                    .await?;
                }
                Ok(())
            }
        }
    }
}

impl Subscriber for TicketMail {
    fn name(&self) -> &'static str {
        "ticket-mail"
    }

    fn deliver<'a>(
        &'a self,
        tenant: &'a TenantDb,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.deliver_event(tenant, event))
    }
}
