//! The scope property, on both backends: random ticket operations (open, reply,
//! internal note, attachment, status change) by random people of two organizations
//! in each of two tenants never let anyone reach a ticket outside their scope — by
//! list, search, number or attachment URL — and everyone finds exactly what their
//! scope holds. The model here says what each person may see: contacts their own
//! tickets, main contacts their organization's, technicians their tenant's; customers
//! never an internal note or its attachment.

use std::collections::BTreeSet;

use portico_tenants::ids::EmailAddress;
use portico_tenants::people::{self, NewUser};
use portico_tenants::{Role, tokens};
use portico_tests::{Backend, TestApp, TestEnv};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use rstest::rstest;
use serde_json::{Value, json};

const TENANTS: [&str; 2] = ["acme", "beta"];

#[derive(Debug, Clone)]
struct Person {
    tenant: usize,
    id: i64,
    token: String,
    role: Role,
    organization: Option<i64>,
    email: String,
}

#[derive(Debug, Clone)]
struct TicketModel {
    tenant: usize,
    number: i64,
    requester: i64,
    organization: Option<i64>,
    subject: String,
}

#[derive(Debug, Clone)]
struct AttachmentModel {
    tenant: usize,
    ticket: i64,
    id: i64,
    internal: bool,
}

/// One random operation: who (index into the people), on which ticket (index into
/// the tickets of the actor's tenant, modulo), what.
#[derive(Debug, Clone)]
enum Op {
    Open {
        actor: usize,
        for_other: usize,
    },
    Reply {
        actor: usize,
        ticket: usize,
        internal: bool,
    },
    Attach {
        actor: usize,
        ticket: usize,
        internal: bool,
    },
    Status {
        actor: usize,
        ticket: usize,
        status: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..20usize, 0..20usize).prop_map(|(actor, for_other)| Op::Open { actor, for_other }),
        3 => (0..20usize, 0..50usize, any::<bool>()).prop_map(|(actor, ticket, internal)| Op::Reply { actor, ticket, internal }),
        2 => (0..20usize, 0..50usize, any::<bool>()).prop_map(|(actor, ticket, internal)| Op::Attach { actor, ticket, internal }),
        1 => (0..20usize, 0..50usize, 0..4usize).prop_map(|(actor, ticket, status)| Op::Status { actor, ticket, status }),
    ]
}

struct World {
    app: TestApp,
    people: Vec<Person>,
    tickets: Vec<TicketModel>,
    attachments: Vec<AttachmentModel>,
    /// Words written only in internal notes, per tenant.
    secrets: Vec<(usize, i64, String)>,
}

async fn add_person(
    app: &TestApp,
    db: &portico_tenants::TenantDb,
    slug: &str,
    tenant: usize,
    email: String,
    role: Role,
    organization: Option<i64>,
) -> Person {
    let user = people::create_user(
        db,
        NewUser {
            email: EmailAddress::parse(&email).expect("email"),
            display_name: String::new(),
            role,
            invite: false,
            organization_id: organization,
        },
    )
    .await
    .expect("person");
    let token = tokens::create_personal_token(app.store(), slug, &email, &email)
        .await
        .expect("token");
    Person {
        tenant,
        id: user.id,
        token,
        role,
        organization,
        email,
    }
}

fn host(tenant: usize) -> String {
    format!("{}.localhost", TENANTS[tenant])
}

impl World {
    async fn build(env: &std::sync::Arc<TestEnv>) -> World {
        let app = env.spawn().await;
        let mut people_out = Vec::new();
        for (t, slug) in TENANTS.iter().enumerate() {
            app.create_tenant(slug, slug).await;
            let db = app.tenant(slug).await;
            let mut orgs = Vec::new();
            for o in 0..2 {
                let domain = format!("org{o}.{slug}.example");
                orgs.push(
                    portico_tenants::organizations::create_organization(
                        &db,
                        &format!("Org {o}"),
                        &[domain],
                        "test",
                    )
                    .await
                    .expect("organization")
                    .id,
                );
            }
            people_out.push(
                add_person(
                    &app,
                    &db,
                    slug,
                    t,
                    format!("tech@msp.{slug}.example"),
                    Role::Technician,
                    None,
                )
                .await,
            );
            for (o, org) in orgs.iter().enumerate() {
                people_out.push(
                    add_person(
                        &app,
                        &db,
                        slug,
                        t,
                        format!("boss@org{o}.{slug}.example"),
                        Role::MainContact,
                        Some(*org),
                    )
                    .await,
                );
                people_out.push(
                    add_person(
                        &app,
                        &db,
                        slug,
                        t,
                        format!("ann@org{o}.{slug}.example"),
                        Role::Contact,
                        Some(*org),
                    )
                    .await,
                );
                people_out.push(
                    add_person(
                        &app,
                        &db,
                        slug,
                        t,
                        format!("bob@org{o}.{slug}.example"),
                        Role::Contact,
                        Some(*org),
                    )
                    .await,
                );
            }
        }
        World {
            app,
            people: people_out,
            tickets: Vec::new(),
            attachments: Vec::new(),
            secrets: Vec::new(),
        }
    }

    fn sees(&self, person: &Person, ticket: &TicketModel) -> bool {
        person.tenant == ticket.tenant
            && match person.role {
                Role::Technician | Role::MspAdmin => true,
                Role::MainContact => {
                    person.organization.is_some() && person.organization == ticket.organization
                }
                Role::Contact => person.id == ticket.requester,
            }
    }

    fn staff(person: &Person) -> bool {
        matches!(person.role, Role::Technician | Role::MspAdmin)
    }

    fn ticket_of(&self, tenant: usize, index: usize) -> Option<TicketModel> {
        let of: Vec<&TicketModel> = self.tickets.iter().filter(|t| t.tenant == tenant).collect();
        if of.is_empty() {
            None
        } else {
            Some(of[index % of.len()].clone())
        }
    }

    async fn apply(&mut self, op: &Op, step: usize) {
        match *op {
            Op::Open { actor, for_other } => {
                let person = self.people[actor % self.people.len()].clone();
                let subject = format!("printer step{step}");
                let (requester_email, requester) = if Self::staff(&person) {
                    let customers: Vec<&Person> = self
                        .people
                        .iter()
                        .filter(|p| p.tenant == person.tenant && !Self::staff(p))
                        .collect();
                    let chosen = customers[for_other % customers.len()];
                    (chosen.email.clone(), chosen.clone())
                } else {
                    (person.email.clone(), person.clone())
                };
                let response = self.app.request(Method::POST, &host(person.tenant), "/api/v1/tickets")
                    .bearer_auth(&person.token)
                    .json(&json!({ "subject": subject, "description": "it does not print", "requester_email": requester_email }))
                    .send().await.expect("sent");
                assert_eq!(response.status().as_u16(), 201, "step {step}: {op:?}");
                let body: Value = response.json().await.expect("json");
                self.tickets.push(TicketModel {
                    tenant: person.tenant,
                    number: body["number"].as_i64().expect("number"),
                    requester: requester.id,
                    organization: requester.organization,
                    subject,
                });
            }
            Op::Reply {
                actor,
                ticket,
                internal,
            }
            | Op::Attach {
                actor,
                ticket,
                internal,
            } => {
                let person = self.people[actor % self.people.len()].clone();
                let Some(target) = self.ticket_of(person.tenant, ticket) else {
                    return;
                };
                let secret = format!("secret{step}x");
                let body = if internal {
                    secret.clone()
                } else {
                    format!("reply {step}")
                };
                let attach = matches!(op, Op::Attach { .. });
                let path = format!("/api/v1/tickets/{}/messages", target.number);
                let request = self
                    .app
                    .request(Method::POST, &host(person.tenant), &path)
                    .bearer_auth(&person.token);
                let request = if attach {
                    let form = Form::new()
                        .text("body", body.clone())
                        .text("internal", internal.to_string())
                        .part(
                            "file",
                            Part::bytes(format!("log of step {step}\n").into_bytes())
                                .file_name("log.txt"),
                        );
                    request.multipart(form)
                } else {
                    request.json(&json!({ "body": body, "internal": internal }))
                };
                let response = request.send().await.expect("sent");
                let status = response.status().as_u16();
                // Customers are refused internal notes outright, whatever the ticket.
                let expected = match (
                    internal && !Self::staff(&person),
                    self.sees(&person, &target),
                ) {
                    (true, _) => 403,
                    (false, false) => 404,
                    (false, true) => 201,
                };
                assert_eq!(
                    status, expected,
                    "step {step}: {op:?} by {:?} on {target:?}",
                    person.role
                );
                if status == 201 {
                    if internal {
                        self.secrets.push((target.tenant, target.number, secret));
                    }
                    if attach {
                        let (_, files) = self
                            .call(
                                &person,
                                Method::GET,
                                &format!("/api/v1/tickets/{}/attachments", target.number),
                            )
                            .await;
                        let newest = files
                            .as_array()
                            .and_then(|f| f.iter().filter_map(|a| a["id"].as_i64()).max())
                            .expect("attachment");
                        self.attachments.push(AttachmentModel {
                            tenant: target.tenant,
                            ticket: target.number,
                            id: newest,
                            internal,
                        });
                    }
                }
            }
            Op::Status {
                actor,
                ticket,
                status,
            } => {
                let person = self.people[actor % self.people.len()].clone();
                let Some(target) = self.ticket_of(person.tenant, ticket) else {
                    return;
                };
                let key = ["open", "waiting", "resolved", "closed"][status];
                let response = self
                    .app
                    .request(
                        Method::POST,
                        &host(person.tenant),
                        &format!("/api/v1/tickets/{}/status", target.number),
                    )
                    .bearer_auth(&person.token)
                    .json(&json!({ "status": key }))
                    .send()
                    .await
                    .expect("sent");
                let expected = if !Self::staff(&person) { 403 } else { 200 };
                assert_eq!(response.status().as_u16(), expected, "step {step}: {op:?}");
            }
        }
    }

    async fn call(&self, person: &Person, method: Method, path: &str) -> (u16, Value) {
        self.app
            .api(&host(person.tenant), method, &person.token, path, None)
            .await
    }

    async fn listed(&self, person: &Person, query: &str) -> (BTreeSet<i64>, Value) {
        let (status, page) = self
            .call(
                person,
                Method::GET,
                &format!("/api/v1/tickets?limit=200{query}"),
            )
            .await;
        assert_eq!(status, 200, "{page}");
        let numbers = page["tickets"]
            .as_array()
            .expect("tickets")
            .iter()
            .filter_map(|t| t["number"].as_i64())
            .collect();
        (numbers, page["counts"].clone())
    }

    /// Every person reaches exactly their scope, by every door.
    async fn check(&self) {
        for person in &self.people {
            let visible: BTreeSet<i64> = self
                .tickets
                .iter()
                .filter(|t| self.sees(person, t))
                .map(|t| t.number)
                .collect();
            let (listed, counts) = self.listed(person, "").await;
            assert_eq!(
                listed, visible,
                "list of {:?} {}",
                person.role, person.email
            );
            assert_eq!(
                counts["all"].as_i64(),
                Some(visible.len() as i64),
                "counts of {}",
                person.email
            );
            let (found, _) = self.listed(person, "&q=printer&lang=en").await;
            assert_eq!(found, visible, "search of {}", person.email);
            for (tenant, number, secret) in &self.secrets {
                let (found, _) = self.listed(person, &format!("&q={secret}")).await;
                let expected: BTreeSet<i64> = if *tenant == person.tenant && Self::staff(person) {
                    [*number].into()
                } else {
                    BTreeSet::new()
                };
                assert_eq!(
                    found, expected,
                    "{} searching an internal note's word",
                    person.email
                );
            }
            // By number: the tenant's own tickets answer iff visible; the same numbers
            // exist in the other tenant and never leak through this host.
            let numbers: BTreeSet<i64> = self.tickets.iter().map(|t| t.number).collect();
            for number in numbers {
                let own = self
                    .tickets
                    .iter()
                    .find(|t| t.tenant == person.tenant && t.number == number);
                let (status, body) = self
                    .call(person, Method::GET, &format!("/api/v1/tickets/{number}"))
                    .await;
                match own {
                    Some(ticket) if self.sees(person, ticket) => {
                        assert_eq!(status, 200);
                        assert_eq!(
                            body["subject"],
                            ticket.subject.as_str(),
                            "the own tenant's ticket #{number}"
                        );
                    }
                    _ => assert_eq!(status, 404, "{} reading #{number}: {body}", person.email),
                }
            }
            for attachment in &self.attachments {
                let ticket = self
                    .tickets
                    .iter()
                    .find(|t| t.tenant == attachment.tenant && t.number == attachment.ticket)
                    .expect("ticket");
                let path = format!(
                    "/api/v1/tickets/{}/attachments/{}",
                    attachment.ticket, attachment.id
                );
                let response = self
                    .app
                    .request(Method::GET, &host(person.tenant), &path)
                    .bearer_auth(&person.token)
                    .send()
                    .await
                    .expect("sent");
                let allowed = attachment.tenant == person.tenant
                    && self.sees(person, ticket)
                    && (!attachment.internal || Self::staff(person));
                let status = response.status().as_u16();
                if attachment.tenant == person.tenant {
                    assert_eq!(
                        status,
                        if allowed { 200 } else { 404 },
                        "{} fetching {path}",
                        person.email
                    );
                } else if status == 200 {
                    // The same path names a file of the person's own tenant, if any.
                    let own = self.attachments.iter().any(|a| {
                        a.tenant == person.tenant
                            && a.ticket == attachment.ticket
                            && a.id == attachment.id
                    });
                    assert!(
                        own,
                        "{} reached another tenant's file at {path}",
                        person.email
                    );
                }
            }
            // A token is worthless on the other tenant's host.
            let other = host(1 - person.tenant);
            let response = self
                .app
                .request(Method::GET, &other, "/api/v1/tickets")
                .bearer_auth(&person.token)
                .send()
                .await
                .expect("sent");
            assert_eq!(response.status().as_u16(), 401);
        }
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[test]
fn random_operations_never_reach_outside_the_scope(#[case] backend: Backend) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut runner = TestRunner::new(Config {
        cases: 6,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&proptest::collection::vec(op(), 8..24), |ops| {
        runtime.block_on(async {
            let env = TestEnv::new(backend).await;
            let mut world = World::build(&env).await;
            for (step, op) in ops.iter().enumerate() {
                world.apply(op, step).await;
            }
            world.check().await;
            world.app.stop().await;
        });
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
