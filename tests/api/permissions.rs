//! The permission matrix over HTTP: every role × every API route, with the expected
//! answer and, for lists, the scope the data layer applied. Later issues add rows.

use portico_tenants::Role;
use portico_tenants::ids::EmailAddress;
use portico_tenants::people::{self, NewUser};
use portico_tests::{Backend, TestApp, TestEnv};
use reqwest::Method;
use rstest::rstest;

/// (role, method, path, expected status, expected number of users listed).
/// (role, method, path, expected status, expected number of items listed). Rows run
/// in order: changes come last.
pub(crate) const MATRIX: &[(Role, &str, &str, u16, Option<usize>)] = &[
    (Role::MspAdmin, "GET", "/api/v1/tenant", 200, None),
    (Role::Technician, "GET", "/api/v1/tenant", 200, None),
    (Role::MainContact, "GET", "/api/v1/tenant", 200, None),
    (Role::Contact, "GET", "/api/v1/tenant", 200, None),
    (Role::MspAdmin, "GET", "/api/v1/users", 200, Some(4)),
    (Role::Technician, "GET", "/api/v1/users", 200, Some(4)),
    (Role::MainContact, "GET", "/api/v1/users", 200, Some(0)),
    (Role::Contact, "GET", "/api/v1/users", 200, Some(0)),
    (Role::MspAdmin, "GET", "/api/v1/users/{id0}", 200, None),
    (Role::Technician, "GET", "/api/v1/users/{id0}", 200, None),
    (Role::MainContact, "GET", "/api/v1/users/{id0}", 404, None),
    (Role::Contact, "GET", "/api/v1/users/{id0}", 404, None),
    (Role::MspAdmin, "POST", "/api/v1/users", 201, None),
    (Role::Technician, "POST", "/api/v1/users", 403, None),
    (Role::MainContact, "POST", "/api/v1/users", 403, None),
    (Role::Contact, "POST", "/api/v1/users", 403, None),
    (Role::MspAdmin, "GET", "/api/v1/organizations", 200, Some(1)),
    (
        Role::Technician,
        "GET",
        "/api/v1/organizations",
        200,
        Some(1),
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/organizations",
        200,
        Some(0),
    ),
    (Role::Contact, "GET", "/api/v1/organizations", 200, Some(0)),
    (Role::Technician, "POST", "/api/v1/organizations", 403, None),
    (
        Role::MainContact,
        "POST",
        "/api/v1/organizations",
        403,
        None,
    ),
    (Role::Contact, "POST", "/api/v1/organizations", 403, None),
    (Role::MspAdmin, "POST", "/api/v1/organizations", 201, None),
    (Role::MspAdmin, "GET", "/api/v1/audit", 200, None),
    (Role::Technician, "GET", "/api/v1/audit", 403, None),
    (Role::MainContact, "GET", "/api/v1/audit", 403, None),
    (Role::Contact, "GET", "/api/v1/audit", 403, None),
    (Role::MspAdmin, "GET", "/api/v1/audit/export", 200, None),
    (Role::Technician, "GET", "/api/v1/audit/export", 403, None),
    (Role::MainContact, "GET", "/api/v1/audit/export", 403, None),
    (Role::Contact, "GET", "/api/v1/audit/export", 403, None),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/users/{id0}/invitation",
        202,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/users/{id0}/invitation",
        403,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/users/{id0}/invitation",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/users/{id0}/invitation",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/users/{id1}/end-sessions",
        200,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/users/{id1}/end-sessions",
        403,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/users/{id1}/end-sessions",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/users/{id1}/end-sessions",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/users/{id1}/reset-second-factor",
        200,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/users/{id1}/reset-second-factor",
        403,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/users/{id1}/reset-second-factor",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/users/{id1}/reset-second-factor",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/users/{id1}/remove-phone",
        204,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/users/{id1}/remove-phone",
        403,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/users/{id1}/remove-phone",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/users/{id1}/remove-phone",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "GET",
        "/api/v1/identity-providers",
        200,
        None,
    ),
    (
        Role::Technician,
        "GET",
        "/api/v1/identity-providers",
        403,
        None,
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/identity-providers",
        403,
        None,
    ),
    (
        Role::Contact,
        "GET",
        "/api/v1/identity-providers",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "PUT",
        "/api/v1/settings/contacts-second-factor-optional",
        204,
        None,
    ),
    (
        Role::Technician,
        "PUT",
        "/api/v1/settings/contacts-second-factor-optional",
        403,
        None,
    ),
    (
        Role::MainContact,
        "PUT",
        "/api/v1/settings/contacts-second-factor-optional",
        403,
        None,
    ),
    (
        Role::Contact,
        "PUT",
        "/api/v1/settings/contacts-second-factor-optional",
        403,
        None,
    ),
    (Role::MspAdmin, "PUT", "/api/v1/sections/devices", 204, None),
    (
        Role::Technician,
        "PUT",
        "/api/v1/sections/devices",
        403,
        None,
    ),
    (
        Role::MainContact,
        "PUT",
        "/api/v1/sections/devices",
        403,
        None,
    ),
    (Role::Contact, "PUT", "/api/v1/sections/devices", 403, None),
    (
        Role::MspAdmin,
        "GET",
        "/api/v1/users/{id0}/sections",
        200,
        None,
    ),
    (
        Role::Technician,
        "GET",
        "/api/v1/users/{id0}/sections",
        200,
        None,
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/users/{id0}/sections",
        404,
        None,
    ),
    (
        Role::Contact,
        "GET",
        "/api/v1/users/{id0}/sections",
        404,
        None,
    ),
    (Role::MspAdmin, "POST", "/api/v1/users/import", 200, None),
    (Role::Technician, "POST", "/api/v1/users/import", 403, None),
    (Role::MainContact, "POST", "/api/v1/users/import", 403, None),
    (Role::Contact, "POST", "/api/v1/users/import", 403, None),
    (Role::MspAdmin, "GET", "/api/v1/account-requests", 200, None),
    (
        Role::Technician,
        "GET",
        "/api/v1/account-requests",
        403,
        None,
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/account-requests",
        200,
        None,
    ),
    (Role::Contact, "GET", "/api/v1/account-requests", 403, None),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/account-requests",
        403,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/account-requests",
        403,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/account-requests",
        422,
        None,
    ),
    (Role::Contact, "POST", "/api/v1/account-requests", 403, None),
    (
        Role::Technician,
        "POST",
        "/api/v1/account-requests/{req1}/approve",
        403,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/account-requests/{req1}/approve",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/account-requests/{req1}/approve",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/account-requests/{req1}/approve",
        200,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/account-requests/{req2}/reject",
        403,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/account-requests/{req2}/reject",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/account-requests/{req2}/reject",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/account-requests/{req2}/reject",
        200,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/identity-providers",
        201,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/identity-providers",
        403,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/identity-providers",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/identity-providers",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/users/{id2}/disable",
        200,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/users/{id2}/disable",
        403,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/users/{id2}/disable",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/users/{id2}/disable",
        403,
        None,
    ),
    // Tickets: staff see all, main contacts their organization's, contacts their own
    // (these service accounts are no person, so nothing); staff open them for anyone.
    (Role::MspAdmin, "GET", "/api/v1/tickets", 200, None),
    (Role::Technician, "GET", "/api/v1/tickets", 200, None),
    (Role::MainContact, "GET", "/api/v1/tickets", 200, None),
    (Role::Contact, "GET", "/api/v1/tickets", 200, None),
    (Role::MspAdmin, "GET", "/api/v1/tickets/{ticket}", 200, None),
    (
        Role::Technician,
        "GET",
        "/api/v1/tickets/{ticket}",
        200,
        None,
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/tickets/{ticket}",
        404,
        None,
    ),
    (Role::Contact, "GET", "/api/v1/tickets/{ticket}", 404, None),
    (Role::MspAdmin, "POST", "/api/v1/tickets", 201, None),
    (Role::Technician, "POST", "/api/v1/tickets", 201, None),
    (Role::MainContact, "POST", "/api/v1/tickets", 422, None),
    (Role::Contact, "POST", "/api/v1/tickets", 422, None),
    (
        Role::MainContact,
        "POST",
        "/api/v1/tickets/{ticket}/status",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/tickets/{ticket}/status",
        403,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/tickets/{ticket}/status",
        200,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/tickets/{ticket}/status",
        200,
        None,
    ),
    // Tickets, part 2: staff work every ticket; these service accounts are no person,
    // so the requester side finds none; configuration is the MSP admin's.
    (
        Role::MspAdmin,
        "PATCH",
        "/api/v1/tickets/{ticket}",
        200,
        None,
    ),
    (
        Role::Technician,
        "PATCH",
        "/api/v1/tickets/{ticket}",
        200,
        None,
    ),
    (
        Role::MainContact,
        "PATCH",
        "/api/v1/tickets/{ticket}",
        404,
        None,
    ),
    (
        Role::Contact,
        "PATCH",
        "/api/v1/tickets/{ticket}",
        404,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/tickets/{ticket}/close",
        200,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/tickets/{ticket}/close",
        200,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/tickets/{ticket}/close",
        404,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/tickets/{ticket}/close",
        404,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/tickets/{ticket}/reopen",
        200,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/tickets/{ticket}/reopen",
        409,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/tickets/{ticket}/reopen",
        404,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/tickets/{ticket}/reopen",
        404,
        None,
    ),
    (
        Role::MspAdmin,
        "GET",
        "/api/v1/tickets/{ticket}/messages",
        200,
        None,
    ),
    (
        Role::Technician,
        "GET",
        "/api/v1/tickets/{ticket}/messages",
        200,
        None,
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/tickets/{ticket}/messages",
        404,
        None,
    ),
    (
        Role::Contact,
        "GET",
        "/api/v1/tickets/{ticket}/messages",
        404,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/tickets/{ticket}/messages",
        201,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/tickets/{ticket}/messages",
        201,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/tickets/{ticket}/messages",
        404,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/tickets/{ticket}/messages",
        404,
        None,
    ),
    (
        Role::MspAdmin,
        "GET",
        "/api/v1/tickets/{ticket}/attachments",
        200,
        None,
    ),
    (
        Role::Technician,
        "GET",
        "/api/v1/tickets/{ticket}/attachments",
        200,
        None,
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/tickets/{ticket}/attachments",
        404,
        None,
    ),
    (
        Role::Contact,
        "GET",
        "/api/v1/tickets/{ticket}/attachments",
        404,
        None,
    ),
    (
        Role::MspAdmin,
        "GET",
        "/api/v1/tickets/{ticket}/attachments/1",
        404,
        None,
    ),
    (
        Role::Technician,
        "GET",
        "/api/v1/tickets/{ticket}/attachments/1",
        404,
        None,
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/tickets/{ticket}/attachments/1",
        404,
        None,
    ),
    (
        Role::Contact,
        "GET",
        "/api/v1/tickets/{ticket}/attachments/1",
        404,
        None,
    ),
    (
        Role::MspAdmin,
        "GET",
        "/api/v1/tickets/{ticket}/links",
        200,
        None,
    ),
    (
        Role::Technician,
        "GET",
        "/api/v1/tickets/{ticket}/links",
        200,
        None,
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/tickets/{ticket}/links",
        404,
        None,
    ),
    (
        Role::Contact,
        "GET",
        "/api/v1/tickets/{ticket}/links",
        404,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/tickets/{ticket}/links",
        200,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/tickets/{ticket}/links",
        200,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/tickets/{ticket}/links",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/tickets/{ticket}/links",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "GET",
        "/api/v1/tickets/{ticket}/watchers",
        200,
        None,
    ),
    (
        Role::Technician,
        "GET",
        "/api/v1/tickets/{ticket}/watchers",
        200,
        None,
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/tickets/{ticket}/watchers",
        404,
        None,
    ),
    (
        Role::Contact,
        "GET",
        "/api/v1/tickets/{ticket}/watchers",
        404,
        None,
    ),
    (
        Role::MspAdmin,
        "GET",
        "/api/v1/tickets/{ticket}/time-entries",
        200,
        None,
    ),
    (
        Role::Technician,
        "GET",
        "/api/v1/tickets/{ticket}/time-entries",
        200,
        None,
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/tickets/{ticket}/time-entries",
        403,
        None,
    ),
    (
        Role::Contact,
        "GET",
        "/api/v1/tickets/{ticket}/time-entries",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/tickets/{ticket}/time-entries",
        201,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/tickets/{ticket}/time-entries",
        201,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/tickets/{ticket}/time-entries",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/tickets/{ticket}/time-entries",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "PUT",
        "/api/v1/tickets/{ticket}/time-entries/{entry}",
        200,
        None,
    ),
    (
        Role::Technician,
        "PUT",
        "/api/v1/tickets/{ticket}/time-entries/{entry}",
        200,
        None,
    ),
    (
        Role::MainContact,
        "PUT",
        "/api/v1/tickets/{ticket}/time-entries/{entry}",
        403,
        None,
    ),
    (
        Role::Contact,
        "PUT",
        "/api/v1/tickets/{ticket}/time-entries/{entry}",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/tickets/{ticket}/time-entries/{entry}/invoice",
        200,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/tickets/{ticket}/time-entries/{entry}/invoice",
        403,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/tickets/{ticket}/time-entries/{entry}/invoice",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/tickets/{ticket}/time-entries/{entry}/invoice",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "DELETE",
        "/api/v1/tickets/{ticket}/time-entries/{entry}",
        409,
        None,
    ),
    (
        Role::Technician,
        "DELETE",
        "/api/v1/tickets/{ticket}/time-entries/{entry}",
        409,
        None,
    ),
    (
        Role::MainContact,
        "DELETE",
        "/api/v1/tickets/{ticket}/time-entries/{entry}",
        403,
        None,
    ),
    (
        Role::Contact,
        "DELETE",
        "/api/v1/tickets/{ticket}/time-entries/{entry}",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/tickets/{ticket2}/merge",
        200,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/tickets/{ticket2}/merge",
        409,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/tickets/{ticket2}/merge",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/tickets/{ticket2}/merge",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "GET",
        "/api/v1/ticket-statuses",
        200,
        Some(6),
    ),
    (
        Role::Technician,
        "GET",
        "/api/v1/ticket-statuses",
        200,
        Some(6),
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/ticket-statuses",
        200,
        Some(6),
    ),
    (
        Role::Contact,
        "GET",
        "/api/v1/ticket-statuses",
        200,
        Some(6),
    ),
    (Role::MspAdmin, "POST", "/api/v1/ticket-statuses", 201, None),
    (
        Role::Technician,
        "POST",
        "/api/v1/ticket-statuses",
        403,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/ticket-statuses",
        403,
        None,
    ),
    (Role::Contact, "POST", "/api/v1/ticket-statuses", 403, None),
    (
        Role::MspAdmin,
        "PUT",
        "/api/v1/ticket-statuses/waiting",
        204,
        None,
    ),
    (
        Role::Technician,
        "PUT",
        "/api/v1/ticket-statuses/waiting",
        403,
        None,
    ),
    (
        Role::MainContact,
        "PUT",
        "/api/v1/ticket-statuses/waiting",
        403,
        None,
    ),
    (
        Role::Contact,
        "PUT",
        "/api/v1/ticket-statuses/waiting",
        403,
        None,
    ),
    (Role::MspAdmin, "GET", "/api/v1/ticket-queues", 200, None),
    (Role::Technician, "GET", "/api/v1/ticket-queues", 200, None),
    (Role::MainContact, "GET", "/api/v1/ticket-queues", 403, None),
    (Role::Contact, "GET", "/api/v1/ticket-queues", 403, None),
    (Role::MspAdmin, "POST", "/api/v1/ticket-queues", 201, None),
    (Role::Technician, "POST", "/api/v1/ticket-queues", 403, None),
    (
        Role::MainContact,
        "POST",
        "/api/v1/ticket-queues",
        403,
        None,
    ),
    (Role::Contact, "POST", "/api/v1/ticket-queues", 403, None),
    (
        Role::MspAdmin,
        "GET",
        "/api/v1/ticket-queues/second/members",
        200,
        None,
    ),
    (
        Role::Technician,
        "GET",
        "/api/v1/ticket-queues/second/members",
        200,
        None,
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/ticket-queues/second/members",
        403,
        None,
    ),
    (
        Role::Contact,
        "GET",
        "/api/v1/ticket-queues/second/members",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "PUT",
        "/api/v1/ticket-queues/second/members",
        200,
        None,
    ),
    (
        Role::Technician,
        "PUT",
        "/api/v1/ticket-queues/second/members",
        403,
        None,
    ),
    (
        Role::MainContact,
        "PUT",
        "/api/v1/ticket-queues/second/members",
        403,
        None,
    ),
    (
        Role::Contact,
        "PUT",
        "/api/v1/ticket-queues/second/members",
        403,
        None,
    ),
    (Role::MspAdmin, "GET", "/api/v1/ticket-workflow", 200, None),
    (
        Role::Technician,
        "GET",
        "/api/v1/ticket-workflow",
        200,
        None,
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/ticket-workflow",
        200,
        None,
    ),
    (Role::Contact, "GET", "/api/v1/ticket-workflow", 200, None),
    (
        Role::MspAdmin,
        "PUT",
        "/api/v1/ticket-workflow/contact",
        200,
        None,
    ),
    (
        Role::Technician,
        "PUT",
        "/api/v1/ticket-workflow/contact",
        403,
        None,
    ),
    (
        Role::MainContact,
        "PUT",
        "/api/v1/ticket-workflow/contact",
        403,
        None,
    ),
    (
        Role::Contact,
        "PUT",
        "/api/v1/ticket-workflow/contact",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "DELETE",
        "/api/v1/ticket-workflow/contact",
        204,
        None,
    ),
    (
        Role::Technician,
        "DELETE",
        "/api/v1/ticket-workflow/contact",
        403,
        None,
    ),
    (
        Role::MainContact,
        "DELETE",
        "/api/v1/ticket-workflow/contact",
        403,
        None,
    ),
    (
        Role::Contact,
        "DELETE",
        "/api/v1/ticket-workflow/contact",
        403,
        None,
    ),
    (Role::MspAdmin, "GET", "/api/v1/ticket-fields", 200, None),
    (Role::Technician, "GET", "/api/v1/ticket-fields", 200, None),
    (Role::MainContact, "GET", "/api/v1/ticket-fields", 200, None),
    (Role::Contact, "GET", "/api/v1/ticket-fields", 200, None),
    (Role::MspAdmin, "POST", "/api/v1/ticket-fields", 201, None),
    (Role::Technician, "POST", "/api/v1/ticket-fields", 403, None),
    (
        Role::MainContact,
        "POST",
        "/api/v1/ticket-fields",
        403,
        None,
    ),
    (Role::Contact, "POST", "/api/v1/ticket-fields", 403, None),
    (
        Role::MspAdmin,
        "PUT",
        "/api/v1/ticket-fields/asset_tag",
        204,
        None,
    ),
    (
        Role::Technician,
        "PUT",
        "/api/v1/ticket-fields/asset_tag",
        403,
        None,
    ),
    (
        Role::MainContact,
        "PUT",
        "/api/v1/ticket-fields/asset_tag",
        403,
        None,
    ),
    (
        Role::Contact,
        "PUT",
        "/api/v1/ticket-fields/asset_tag",
        403,
        None,
    ),
    (Role::MspAdmin, "GET", "/api/v1/portal-fields", 200, Some(6)),
    (
        Role::Technician,
        "GET",
        "/api/v1/portal-fields",
        200,
        Some(6),
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/portal-fields",
        200,
        Some(6),
    ),
    (Role::Contact, "GET", "/api/v1/portal-fields", 200, Some(6)),
    (
        Role::MspAdmin,
        "PUT",
        "/api/v1/portal-fields/priority",
        204,
        None,
    ),
    (
        Role::Technician,
        "PUT",
        "/api/v1/portal-fields/priority",
        403,
        None,
    ),
    (
        Role::MainContact,
        "PUT",
        "/api/v1/portal-fields/priority",
        403,
        None,
    ),
    (
        Role::Contact,
        "PUT",
        "/api/v1/portal-fields/priority",
        403,
        None,
    ),
    (Role::MspAdmin, "GET", "/api/v1/ticket-types", 200, None),
    (Role::Technician, "GET", "/api/v1/ticket-types", 200, None),
    (Role::MainContact, "GET", "/api/v1/ticket-types", 200, None),
    (Role::Contact, "GET", "/api/v1/ticket-types", 200, None),
    (Role::MspAdmin, "POST", "/api/v1/ticket-types", 201, None),
    (Role::Technician, "POST", "/api/v1/ticket-types", 403, None),
    (Role::MainContact, "POST", "/api/v1/ticket-types", 403, None),
    (Role::Contact, "POST", "/api/v1/ticket-types", 403, None),
    // Approvals and SLA: a service account is no approver; the configuration is the
    // MSP admin's, readable by staff.
    (
        Role::MspAdmin,
        "GET",
        "/api/v1/tickets/{ticket}/approval",
        404,
        None,
    ),
    (
        Role::Technician,
        "GET",
        "/api/v1/tickets/{ticket}/approval",
        404,
        None,
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/tickets/{ticket}/approval",
        404,
        None,
    ),
    (
        Role::Contact,
        "GET",
        "/api/v1/tickets/{ticket}/approval",
        404,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/tickets/{ticket}/approval",
        403,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/tickets/{ticket}/approval",
        403,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/tickets/{ticket}/approval",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/tickets/{ticket}/approval",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "GET",
        "/api/v1/organizations/{org}/approvers",
        200,
        None,
    ),
    (
        Role::Technician,
        "GET",
        "/api/v1/organizations/{org}/approvers",
        403,
        None,
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/organizations/{org}/approvers",
        403,
        None,
    ),
    (
        Role::Contact,
        "GET",
        "/api/v1/organizations/{org}/approvers",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "PUT",
        "/api/v1/organizations/{org}/approvers",
        200,
        None,
    ),
    (
        Role::Technician,
        "PUT",
        "/api/v1/organizations/{org}/approvers",
        403,
        None,
    ),
    (
        Role::MainContact,
        "PUT",
        "/api/v1/organizations/{org}/approvers",
        403,
        None,
    ),
    (
        Role::Contact,
        "PUT",
        "/api/v1/organizations/{org}/approvers",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "PUT",
        "/api/v1/organizations/{org}/sla-policy",
        204,
        None,
    ),
    (
        Role::Technician,
        "PUT",
        "/api/v1/organizations/{org}/sla-policy",
        403,
        None,
    ),
    (
        Role::MainContact,
        "PUT",
        "/api/v1/organizations/{org}/sla-policy",
        403,
        None,
    ),
    (
        Role::Contact,
        "PUT",
        "/api/v1/organizations/{org}/sla-policy",
        403,
        None,
    ),
    (Role::MspAdmin, "GET", "/api/v1/sla-calendars", 200, None),
    (Role::Technician, "GET", "/api/v1/sla-calendars", 200, None),
    (Role::MainContact, "GET", "/api/v1/sla-calendars", 403, None),
    (Role::Contact, "GET", "/api/v1/sla-calendars", 403, None),
    (Role::MspAdmin, "POST", "/api/v1/sla-calendars", 201, None),
    (Role::Technician, "POST", "/api/v1/sla-calendars", 403, None),
    (
        Role::MainContact,
        "POST",
        "/api/v1/sla-calendars",
        403,
        None,
    ),
    (Role::Contact, "POST", "/api/v1/sla-calendars", 403, None),
    (Role::MspAdmin, "GET", "/api/v1/sla-policies", 200, None),
    (Role::Technician, "GET", "/api/v1/sla-policies", 200, None),
    (Role::MainContact, "GET", "/api/v1/sla-policies", 403, None),
    (Role::Contact, "GET", "/api/v1/sla-policies", 403, None),
    (Role::MspAdmin, "POST", "/api/v1/sla-policies", 201, None),
    (Role::Technician, "POST", "/api/v1/sla-policies", 403, None),
    (Role::MainContact, "POST", "/api/v1/sla-policies", 403, None),
    (Role::Contact, "POST", "/api/v1/sla-policies", 403, None),
    // Ratings are the requester's (no service account rates); reports are the MSP's
    // and each main contact's, for their organization.
    (
        Role::MspAdmin,
        "GET",
        "/api/v1/tickets/{ticket}/rating",
        200,
        None,
    ),
    (
        Role::Technician,
        "GET",
        "/api/v1/tickets/{ticket}/rating",
        200,
        None,
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/tickets/{ticket}/rating",
        404,
        None,
    ),
    (
        Role::Contact,
        "GET",
        "/api/v1/tickets/{ticket}/rating",
        404,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/tickets/{ticket}/rating",
        403,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/tickets/{ticket}/rating",
        403,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/tickets/{ticket}/rating",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/tickets/{ticket}/rating",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "GET",
        "/api/v1/reports/service?from=2026-01-01&to=2026-12-31",
        200,
        None,
    ),
    (
        Role::Technician,
        "GET",
        "/api/v1/reports/service?from=2026-01-01&to=2026-12-31",
        200,
        None,
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/reports/service?from=2026-01-01&to=2026-12-31",
        404,
        None,
    ),
    (
        Role::Contact,
        "GET",
        "/api/v1/reports/service?from=2026-01-01&to=2026-12-31",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "GET",
        "/api/v1/ticket-priorities",
        200,
        Some(4),
    ),
    (
        Role::Technician,
        "GET",
        "/api/v1/ticket-priorities",
        200,
        Some(4),
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/ticket-priorities",
        200,
        Some(4),
    ),
    (
        Role::Contact,
        "GET",
        "/api/v1/ticket-priorities",
        200,
        Some(4),
    ),
    // Custom domains: the MSP admin's alone.
    (Role::MspAdmin, "GET", "/api/v1/domains", 200, Some(1)),
    (Role::Technician, "GET", "/api/v1/domains", 403, None),
    (Role::MainContact, "GET", "/api/v1/domains", 403, None),
    (Role::Contact, "GET", "/api/v1/domains", 403, None),
    (Role::MspAdmin, "GET", "/api/v1/domains/{host}", 200, None),
    (Role::Technician, "GET", "/api/v1/domains/{host}", 403, None),
    (
        Role::MainContact,
        "GET",
        "/api/v1/domains/{host}",
        403,
        None,
    ),
    (Role::Contact, "GET", "/api/v1/domains/{host}", 403, None),
    (Role::Technician, "POST", "/api/v1/domains", 403, None),
    (Role::MainContact, "POST", "/api/v1/domains", 403, None),
    (Role::Contact, "POST", "/api/v1/domains", 403, None),
    (Role::MspAdmin, "POST", "/api/v1/domains", 201, None),
    (
        Role::Technician,
        "POST",
        "/api/v1/domains/{host}/check",
        403,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/domains/{host}/check",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/domains/{host}/check",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/domains/{host}/check",
        200,
        None,
    ),
    (
        Role::Technician,
        "DELETE",
        "/api/v1/domains/{host}",
        403,
        None,
    ),
    (
        Role::MainContact,
        "DELETE",
        "/api/v1/domains/{host}",
        403,
        None,
    ),
    (Role::Contact, "DELETE", "/api/v1/domains/{host}", 403, None),
    (
        Role::MspAdmin,
        "DELETE",
        "/api/v1/domains/{host}",
        204,
        None,
    ),
    // E-mail: the queue for the service desk, mailboxes and the webhook for MSP admins.
    (Role::MspAdmin, "POST", "/api/v1/mail/inbound", 202, None),
    (Role::Technician, "POST", "/api/v1/mail/inbound", 403, None),
    (Role::MainContact, "POST", "/api/v1/mail/inbound", 403, None),
    (Role::Contact, "POST", "/api/v1/mail/inbound", 403, None),
    (Role::MspAdmin, "GET", "/api/v1/mail/inbound", 200, None),
    (Role::Technician, "GET", "/api/v1/mail/inbound", 200, None),
    (Role::MainContact, "GET", "/api/v1/mail/inbound", 403, None),
    (Role::Contact, "GET", "/api/v1/mail/inbound", 403, None),
    (
        Role::MspAdmin,
        "GET",
        "/api/v1/mail/inbound/999999/raw",
        404,
        None,
    ),
    (
        Role::Technician,
        "GET",
        "/api/v1/mail/inbound/999999/raw",
        404,
        None,
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/mail/inbound/999999/raw",
        403,
        None,
    ),
    (
        Role::Contact,
        "GET",
        "/api/v1/mail/inbound/999999/raw",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/mail/inbound/999999/release",
        404,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/mail/inbound/999999/release",
        404,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/mail/inbound/999999/release",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/mail/inbound/999999/release",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/mail/inbound/999999/discard",
        404,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/mail/inbound/999999/discard",
        404,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/mail/inbound/999999/discard",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/mail/inbound/999999/discard",
        403,
        None,
    ),
    (Role::MspAdmin, "GET", "/api/v1/mail/mailboxes", 200, None),
    (Role::Technician, "GET", "/api/v1/mail/mailboxes", 403, None),
    (
        Role::MainContact,
        "GET",
        "/api/v1/mail/mailboxes",
        403,
        None,
    ),
    (Role::Contact, "GET", "/api/v1/mail/mailboxes", 403, None),
    (Role::MspAdmin, "POST", "/api/v1/mail/mailboxes", 201, None),
    (
        Role::Technician,
        "POST",
        "/api/v1/mail/mailboxes",
        403,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/mail/mailboxes",
        403,
        None,
    ),
    (Role::Contact, "POST", "/api/v1/mail/mailboxes", 403, None),
    (
        Role::MspAdmin,
        "PATCH",
        "/api/v1/mail/mailboxes/999999",
        404,
        None,
    ),
    (
        Role::Technician,
        "PATCH",
        "/api/v1/mail/mailboxes/999999",
        403,
        None,
    ),
    (
        Role::MainContact,
        "PATCH",
        "/api/v1/mail/mailboxes/999999",
        403,
        None,
    ),
    (
        Role::Contact,
        "PATCH",
        "/api/v1/mail/mailboxes/999999",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "DELETE",
        "/api/v1/mail/mailboxes/999999",
        404,
        None,
    ),
    (
        Role::Technician,
        "DELETE",
        "/api/v1/mail/mailboxes/999999",
        403,
        None,
    ),
    (
        Role::MainContact,
        "DELETE",
        "/api/v1/mail/mailboxes/999999",
        403,
        None,
    ),
    (
        Role::Contact,
        "DELETE",
        "/api/v1/mail/mailboxes/999999",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "GET",
        "/api/v1/tickets/{ticket}/mail",
        200,
        None,
    ),
    (
        Role::Technician,
        "GET",
        "/api/v1/tickets/{ticket}/mail",
        200,
        None,
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/tickets/{ticket}/mail",
        403,
        None,
    ),
    (
        Role::Contact,
        "GET",
        "/api/v1/tickets/{ticket}/mail",
        403,
        None,
    ),
    (Role::MspAdmin, "GET", "/api/v1/mail/smtp", 200, None),
    (Role::Technician, "GET", "/api/v1/mail/smtp", 403, None),
    (Role::MainContact, "GET", "/api/v1/mail/smtp", 403, None),
    (Role::Contact, "GET", "/api/v1/mail/smtp", 403, None),
    (Role::MspAdmin, "PUT", "/api/v1/mail/smtp", 200, None),
    (Role::Technician, "PUT", "/api/v1/mail/smtp", 403, None),
    (Role::MainContact, "PUT", "/api/v1/mail/smtp", 403, None),
    (Role::Contact, "PUT", "/api/v1/mail/smtp", 403, None),
    (Role::MspAdmin, "DELETE", "/api/v1/mail/smtp", 204, None),
    (Role::Technician, "DELETE", "/api/v1/mail/smtp", 403, None),
    (Role::MainContact, "DELETE", "/api/v1/mail/smtp", 403, None),
    (Role::Contact, "DELETE", "/api/v1/mail/smtp", 403, None),
    // Webhooks: the MSP admin's alone. The endpoint is removed last.
    // Plugins: the fixture publishes none, so the admin passes the check and finds nothing.
    (Role::MspAdmin, "GET", "/api/v1/plugins", 200, None),
    (Role::Technician, "GET", "/api/v1/plugins", 403, None),
    (Role::MainContact, "GET", "/api/v1/plugins", 403, None),
    (Role::Contact, "GET", "/api/v1/plugins", 403, None),
    (
        Role::MspAdmin,
        "PUT",
        "/api/v1/plugins/matrix-plugin",
        404,
        None,
    ),
    (
        Role::Technician,
        "PUT",
        "/api/v1/plugins/matrix-plugin",
        403,
        None,
    ),
    (
        Role::MainContact,
        "PUT",
        "/api/v1/plugins/matrix-plugin",
        403,
        None,
    ),
    (
        Role::Contact,
        "PUT",
        "/api/v1/plugins/matrix-plugin",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "PATCH",
        "/api/v1/plugins/matrix-plugin",
        404,
        None,
    ),
    (
        Role::Technician,
        "PATCH",
        "/api/v1/plugins/matrix-plugin",
        403,
        None,
    ),
    (
        Role::MainContact,
        "PATCH",
        "/api/v1/plugins/matrix-plugin",
        403,
        None,
    ),
    (
        Role::Contact,
        "PATCH",
        "/api/v1/plugins/matrix-plugin",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/plugins/matrix-plugin/rollback",
        404,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/plugins/matrix-plugin/rollback",
        403,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/plugins/matrix-plugin/rollback",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/plugins/matrix-plugin/rollback",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "DELETE",
        "/api/v1/plugins/matrix-plugin",
        404,
        None,
    ),
    (
        Role::Technician,
        "DELETE",
        "/api/v1/plugins/matrix-plugin",
        403,
        None,
    ),
    (
        Role::MainContact,
        "DELETE",
        "/api/v1/plugins/matrix-plugin",
        403,
        None,
    ),
    (
        Role::Contact,
        "DELETE",
        "/api/v1/plugins/matrix-plugin",
        403,
        None,
    ),
    (Role::MspAdmin, "GET", "/api/v1/webhooks", 200, Some(1)),
    (Role::Technician, "GET", "/api/v1/webhooks", 403, None),
    (Role::MainContact, "GET", "/api/v1/webhooks", 403, None),
    (Role::Contact, "GET", "/api/v1/webhooks", 403, None),
    (Role::MspAdmin, "GET", "/api/v1/webhooks/{hook}", 200, None),
    (
        Role::Technician,
        "GET",
        "/api/v1/webhooks/{hook}",
        403,
        None,
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/webhooks/{hook}",
        403,
        None,
    ),
    (Role::Contact, "GET", "/api/v1/webhooks/{hook}", 403, None),
    (
        Role::MspAdmin,
        "GET",
        "/api/v1/webhooks/{hook}/deliveries",
        200,
        None,
    ),
    (
        Role::Technician,
        "GET",
        "/api/v1/webhooks/{hook}/deliveries",
        403,
        None,
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/webhooks/{hook}/deliveries",
        403,
        None,
    ),
    (
        Role::Contact,
        "GET",
        "/api/v1/webhooks/{hook}/deliveries",
        403,
        None,
    ),
    (Role::MspAdmin, "POST", "/api/v1/webhooks", 201, None),
    (Role::Technician, "POST", "/api/v1/webhooks", 403, None),
    (Role::MainContact, "POST", "/api/v1/webhooks", 403, None),
    (Role::Contact, "POST", "/api/v1/webhooks", 403, None),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/webhooks/{hook}/disable",
        200,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/webhooks/{hook}/disable",
        403,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/webhooks/{hook}/disable",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/webhooks/{hook}/disable",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/webhooks/{hook}/enable",
        200,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/webhooks/{hook}/enable",
        403,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/webhooks/{hook}/enable",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/webhooks/{hook}/enable",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/webhooks/{hook}/rotate-secret",
        200,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/webhooks/{hook}/rotate-secret",
        403,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/webhooks/{hook}/rotate-secret",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/webhooks/{hook}/rotate-secret",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/webhooks/{hook}/deliveries/{delivery}/retry",
        202,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/webhooks/{hook}/deliveries/{delivery}/retry",
        403,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/webhooks/{hook}/deliveries/{delivery}/retry",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/webhooks/{hook}/deliveries/{delivery}/retry",
        403,
        None,
    ),
    (
        Role::Technician,
        "DELETE",
        "/api/v1/webhooks/{hook}",
        403,
        None,
    ),
    (
        Role::MainContact,
        "DELETE",
        "/api/v1/webhooks/{hook}",
        403,
        None,
    ),
    (
        Role::Contact,
        "DELETE",
        "/api/v1/webhooks/{hook}",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "DELETE",
        "/api/v1/webhooks/{hook}",
        204,
        None,
    ),
    (Role::MspAdmin, "GET", "/api/v1/kb/articles", 200, None),
    (Role::Technician, "GET", "/api/v1/kb/articles", 200, None),
    (Role::MainContact, "GET", "/api/v1/kb/articles", 200, None),
    (Role::Contact, "GET", "/api/v1/kb/articles", 200, None),
    (Role::MspAdmin, "GET", "/api/v1/kb/articles/{kb}", 200, None),
    (
        Role::Technician,
        "GET",
        "/api/v1/kb/articles/{kb}",
        200,
        None,
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/kb/articles/{kb}",
        200,
        None,
    ),
    (Role::Contact, "GET", "/api/v1/kb/articles/{kb}", 200, None),
    (
        Role::MspAdmin,
        "GET",
        "/api/v1/kb/search?q=printer",
        200,
        Some(1),
    ),
    (
        Role::Technician,
        "GET",
        "/api/v1/kb/search?q=printer",
        200,
        Some(1),
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/kb/search?q=printer",
        200,
        Some(1),
    ),
    (
        Role::Contact,
        "GET",
        "/api/v1/kb/search?q=printer",
        200,
        Some(1),
    ),
    (
        Role::MspAdmin,
        "GET",
        "/api/v1/kb/suggestions?subject=printer",
        200,
        Some(1),
    ),
    (
        Role::Technician,
        "GET",
        "/api/v1/kb/suggestions?subject=printer",
        200,
        Some(1),
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/kb/suggestions?subject=printer",
        200,
        Some(1),
    ),
    (
        Role::Contact,
        "GET",
        "/api/v1/kb/suggestions?subject=printer",
        200,
        Some(1),
    ),
    (Role::MspAdmin, "GET", "/api/v1/kb/categories", 200, Some(1)),
    (
        Role::Technician,
        "GET",
        "/api/v1/kb/categories",
        200,
        Some(1),
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/kb/categories",
        200,
        Some(1),
    ),
    (Role::Contact, "GET", "/api/v1/kb/categories", 200, Some(1)),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/kb/articles/{kb}/feedback",
        204,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/kb/articles/{kb}/feedback",
        204,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/kb/articles/{kb}/feedback",
        204,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/kb/articles/{kb}/feedback",
        204,
        None,
    ),
    (Role::MspAdmin, "GET", "/api/v1/kb/stats", 200, None),
    (Role::Technician, "GET", "/api/v1/kb/stats", 200, None),
    (Role::MainContact, "GET", "/api/v1/kb/stats", 403, None),
    (Role::Contact, "GET", "/api/v1/kb/stats", 403, None),
    (
        Role::MspAdmin,
        "GET",
        "/api/v1/kb/articles/{kb}/revisions",
        200,
        Some(1),
    ),
    (
        Role::Technician,
        "GET",
        "/api/v1/kb/articles/{kb}/revisions",
        200,
        Some(1),
    ),
    (
        Role::MainContact,
        "GET",
        "/api/v1/kb/articles/{kb}/revisions",
        403,
        None,
    ),
    (
        Role::Contact,
        "GET",
        "/api/v1/kb/articles/{kb}/revisions",
        403,
        None,
    ),
    (Role::MspAdmin, "POST", "/api/v1/kb/articles", 201, None),
    (Role::Technician, "POST", "/api/v1/kb/articles", 201, None),
    (Role::MainContact, "POST", "/api/v1/kb/articles", 403, None),
    (Role::Contact, "POST", "/api/v1/kb/articles", 403, None),
    (
        Role::MspAdmin,
        "PATCH",
        "/api/v1/kb/articles/{kb}",
        200,
        None,
    ),
    (
        Role::Technician,
        "PATCH",
        "/api/v1/kb/articles/{kb}",
        200,
        None,
    ),
    (
        Role::MainContact,
        "PATCH",
        "/api/v1/kb/articles/{kb}",
        403,
        None,
    ),
    (
        Role::Contact,
        "PATCH",
        "/api/v1/kb/articles/{kb}",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "PUT",
        "/api/v1/kb/articles/{kb}/translations/en",
        200,
        None,
    ),
    (
        Role::Technician,
        "PUT",
        "/api/v1/kb/articles/{kb}/translations/en",
        200,
        None,
    ),
    (
        Role::MainContact,
        "PUT",
        "/api/v1/kb/articles/{kb}/translations/en",
        403,
        None,
    ),
    (
        Role::Contact,
        "PUT",
        "/api/v1/kb/articles/{kb}/translations/en",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/kb/articles/{kb}/translations/en/unpublish",
        204,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/kb/articles/{kb}/translations/en/unpublish",
        204,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/kb/articles/{kb}/translations/en/unpublish",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/kb/articles/{kb}/translations/en/unpublish",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/kb/articles/{kb}/translations/en/publish",
        204,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/kb/articles/{kb}/translations/en/publish",
        204,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/kb/articles/{kb}/translations/en/publish",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/kb/articles/{kb}/translations/en/publish",
        403,
        None,
    ),
    (Role::MspAdmin, "POST", "/api/v1/kb/categories", 201, None),
    (Role::Technician, "POST", "/api/v1/kb/categories", 403, None),
    (
        Role::MainContact,
        "POST",
        "/api/v1/kb/categories",
        403,
        None,
    ),
    (Role::Contact, "POST", "/api/v1/kb/categories", 403, None),
    (
        Role::MspAdmin,
        "POST",
        "/api/v1/tickets/{ticket}/messages/{msg}/kb-article",
        201,
        None,
    ),
    (
        Role::Technician,
        "POST",
        "/api/v1/tickets/{ticket}/messages/{msg}/kb-article",
        201,
        None,
    ),
    (
        Role::MainContact,
        "POST",
        "/api/v1/tickets/{ticket}/messages/{msg}/kb-article",
        403,
        None,
    ),
    (
        Role::Contact,
        "POST",
        "/api/v1/tickets/{ticket}/messages/{msg}/kb-article",
        403,
        None,
    ),
    (
        Role::Technician,
        "DELETE",
        "/api/v1/kb/articles/{kb}",
        403,
        None,
    ),
    (
        Role::MainContact,
        "DELETE",
        "/api/v1/kb/articles/{kb}",
        403,
        None,
    ),
    (
        Role::Contact,
        "DELETE",
        "/api/v1/kb/articles/{kb}",
        403,
        None,
    ),
    (
        Role::MspAdmin,
        "DELETE",
        "/api/v1/kb/articles/{kb}",
        204,
        None,
    ),
];

/// What the matrix's rows refer to: people, requests, tickets, an endpoint and a
/// delivery in the tenant `acme`, made directly in its database.
pub(crate) struct Fixture {
    ids: Vec<i64>,
    requests: Vec<i64>,
    org: i64,
    ticket: i64,
    second: i64,
    third: i64,
    technician: i64,
    hook: i64,
    delivery: i64,
    kb: i64,
    message: i64,
}

impl Fixture {
    /// Creates everything the rows refer to in the tenant `acme` (already created).
    pub(crate) async fn new(app: &TestApp) -> Fixture {
        let db = app.tenant("acme").await;
        let mut ids = Vec::new();
        for email in ["a@acme.example", "b@acme.example", "c@acme.example"] {
            let user = people::create_user(
                &db,
                NewUser {
                    email: EmailAddress::parse(email).expect("email"),
                    display_name: String::new(),
                    role: Role::Contact,
                    invite: false,
                    organization_id: None,
                },
            )
            .await
            .expect("user");
            ids.push(user.id);
        }
        portico_tenants::ticket_config::create_queue(
            &db,
            portico_tenants::ticket_config::Queue {
                key: "second".to_owned(),
                name: "Second level".to_owned(),
                level: 2,
            },
            "test",
        )
        .await
        .expect("queue");
        portico_tenants::organizations::create_organization(
            &db,
            "Customer One",
            &["one.example".to_owned()],
            "test",
        )
        .await
        .expect("organization");
        let org = portico_tenants::organizations::list_organizations(
            &db,
            portico_tenants::policy::Scope::All,
        )
        .await
        .expect("organizations")[0]
            .id;
        let mut requests = Vec::new();
        for email in ["asked1@one.example", "asked2@one.example"] {
            let asked = portico_tenants::organizations::request_account(
                &db,
                org,
                ids[0],
                &EmailAddress::parse(email).expect("email"),
                "Colleague",
            )
            .await
            .expect("request");
            requests.push(asked.id);
        }
        portico_tenants::registry::add_domain(
            app.store(),
            &db,
            "help.customer.example",
            "localhost",
        )
        .await
        .expect("domain");
        let ticket = portico_tenants::tickets::create_ticket(
            &db,
            portico_tenants::tickets::NewTicket {
                subject: "Printer jammed".to_owned(),
                description: String::new(),
                priority: portico_tenants::tickets::Priority::Medium,
                requester_id: ids[0],
                organization_id: None,
                source: portico_tenants::tickets::Source::Portal,
                language: "en".to_owned(),
                ..Default::default()
            },
            None,
            portico_tenants::tickets::Reader::SYSTEM,
        )
        .await
        .expect("ticket")
        .ticket
        .number;
        let mut more = Vec::new();
        for subject in ["Toner empty", "Toner still empty"] {
            more.push(
                portico_tenants::tickets::create_ticket(
                    &db,
                    portico_tenants::tickets::NewTicket {
                        subject: subject.to_owned(),
                        requester_id: ids[0],
                        language: "en".to_owned(),
                        ..Default::default()
                    },
                    None,
                    portico_tenants::tickets::Reader::SYSTEM,
                )
                .await
                .expect("ticket")
                .ticket
                .number,
            );
        }
        let (second, third) = (more[0], more[1]);
        let technician = people::create_user(
            &db,
            NewUser {
                email: EmailAddress::parse("tech@msp.example").expect("email"),
                display_name: "Tech".to_owned(),
                role: Role::Technician,
                invite: false,
                organization_id: None,
            },
        )
        .await
        .expect("technician")
        .id;
        // A webhook endpoint with one delivery. Its URL is refused by the outbound
        // client at once (no private addresses here), so the delivery is never held by
        // an attempt in flight for long: it waits for its next retry.
        let hook = portico_tenants::webhooks::create_endpoint(
            &db,
            portico_tenants::webhooks::NewEndpoint {
                url: "https://127.0.0.1/never".to_owned(),
                description: String::new(),
                event_types: vec!["matrix.only".to_owned()],
            },
            |_| "sealed".to_owned(),
            "test",
        )
        .await
        .expect("webhook")
        .id;
        let delivery = portico_tenants::webhooks::enqueue_deliveries(
            &db,
            999_999,
            "matrix.only",
            portico_tenants::clock::now_ms(),
            "{}",
        )
        .await
        .expect("delivery")[0];
        // A published article every reader may see, in a category, and the
        // ticket's first message (to turn into an article).
        portico_tenants::kb::create_category(&db, "printing", "Printing", 0, "test")
            .await
            .expect("category");
        let kb = portico_tenants::kb::create_article(
            &db,
            portico_tenants::kb::NewArticle {
                slug: None,
                language: "en".to_owned(),
                title: "Printer guide".to_owned(),
                body: "Restart the printer spooler.".to_owned(),
                category: Some("printing".to_owned()),
                tags: Vec::new(),
                visibility: portico_tenants::kb::Visibility::Customers,
                organizations: Vec::new(),
                publish: true,
                source_ticket_id: None,
            },
            "test",
        )
        .await
        .expect("article");
        let mut tx = db.read().await.expect("read");
        let message: i64 = sqlx::query_scalar(
            "SELECT m.id FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id WHERE t.number = $1 ORDER BY m.id LIMIT 1",
        )
        .bind(ticket)
        .fetch_one(tx.conn())
        .await
        .expect("first message");
        tx.rollback().await.expect("rollback");
        Fixture {
            ids,
            requests,
            org,
            ticket,
            second,
            third,
            technician,
            hook,
            delivery,
            kb,
            message,
        }
    }

    /// A row's path with the fixture's ids in place of its placeholders.
    pub(crate) fn url(&self, path: &str) -> String {
        let Fixture {
            ids,
            requests,
            org,
            ticket,
            second,
            hook,
            delivery,
            kb,
            message,
            ..
        } = self;
        path.replace("{id0}", &ids[0].to_string())
            .replace("{id1}", &ids[1].to_string())
            .replace("{id2}", &ids[2].to_string())
            .replace("{req1}", &requests[0].to_string())
            .replace("{req2}", &requests[1].to_string())
            .replace("{host}", "help.customer.example")
            .replace("{ticket}", &ticket.to_string())
            .replace("{ticket2}", &second.to_string())
            .replace("{org}", &org.to_string())
            .replace("{entry}", "1")
            .replace("{hook}", &hook.to_string())
            .replace("{delivery}", &delivery.to_string())
            .replace("{kb}", &kb.to_string())
            .replace("{msg}", &message.to_string())
    }

    /// The request with a valid body for the row's route (row `n`, for unique names).
    pub(crate) fn with_body(
        &self,
        mut request: reqwest::RequestBuilder,
        method: &str,
        path: &str,
        n: usize,
    ) -> reqwest::RequestBuilder {
        let (third, technician) = (self.third, self.technician);
        if path.starts_with("/api/v1/mail/") {
            return match (method, path) {
                ("POST", "/api/v1/mail/inbound") => request
                    .header("content-type", "message/rfc822")
                    .body(format!(
                        "From: someone@elsewhere.example\r\nTo: acme@inbound.localhost\r\nSubject: Matrix {n}\r\n\
                         Message-ID: <matrix-{n}@elsewhere.example>\r\n\r\nHello\r\n"
                    )),
                ("POST", "/api/v1/mail/mailboxes") => request.json(&serde_json::json!({
                    "address": format!("matrix-{n}@acme.test"), "host": "127.0.0.1", "port": 9,
                    "tls": "none", "username": "matrix", "password": "secret",
                })),
                ("PUT", "/api/v1/mail/smtp") => request.json(&serde_json::json!({
                    "url": "smtp://matrix:secret@127.0.0.1:9", "from": "help@acme.test",
                })),
                ("PATCH", _) => request.json(&serde_json::json!({ "enabled": false })),
                _ => request,
            };
        }
        if path.starts_with("/api/v1/plugins/") {
            return match method {
                "PUT" => request.json(&serde_json::json!({ "grant": { "capabilities": [] } })),
                "PATCH" => request.json(&serde_json::json!({ "enabled": false })),
                _ => request,
            };
        }
        if path.starts_with("/api/v1/kb/") {
            let body = match (method, path) {
                ("POST", "/api/v1/kb/articles") => Some(serde_json::json!({
                    "language": "en", "title": format!("Matrix {n}"), "body": "Matrix", "visibility": "customers", "publish": true
                })),
                ("POST", "/api/v1/kb/categories") => Some(
                    serde_json::json!({ "slug": format!("category-{n}"), "name": format!("Category {n}") }),
                ),
                ("PATCH", _) => Some(serde_json::json!({ "tags": ["printer", format!("t{n}")] })),
                ("PUT", _) => Some(
                    serde_json::json!({ "title": "Printer guide", "body": format!("Restart the printer spooler ({n})."), "note": "matrix" }),
                ),
                ("POST", p) if p.ends_with("/feedback") => {
                    Some(serde_json::json!({ "helpful": n.is_multiple_of(2) }))
                }
                _ => None,
            };
            return match body {
                Some(body) => request.json(&body),
                None => request,
            };
        }
        if path == "/api/v1/identity-providers" && method == "POST" {
            request = request.json(&serde_json::json!({
                    "name": format!("IdP {n}"), "issuer": "https://idp.example", "client_id": "c", "client_secret": "s",
                    "domains": [format!("d{n}.example")]
                }));
        } else if path == "/api/v1/account-requests" && method == "POST" {
            request =
                request.json(&serde_json::json!({ "email": format!("asked{n}@acme.example") }));
        } else if path.ends_with("/import") {
            request = request.body(format!("email,invite\nimported{n}@acme.example,no\n"));
        } else if path.ends_with("/rating") && method == "POST" {
            request = request.json(&serde_json::json!({ "rating": 5 }));
        } else if path.ends_with("/approval") && method == "POST" {
            request = request.json(&serde_json::json!({ "decision": "approve" }));
        } else if path.ends_with("/approvers") {
            request = request.json(&serde_json::json!({ "approvers": [] }));
        } else if path.ends_with("/sla-policy") {
            request = request.json(&serde_json::json!({ "policy": null }));
        } else if path == "/api/v1/sla-calendars" && method == "POST" {
            request = request.json(&serde_json::json!({ "key": format!("office_{n}"), "name": "Office",
                    "definition": { "time_zone": "Europe/Rome", "week": { "mon": [["09:00", "18:00"]] }, "holidays": [] } }));
        } else if path == "/api/v1/sla-policies" && method == "POST" {
            request = request.json(&serde_json::json!({ "key": format!("standard_{n}"), "name": "Standard",
                    "targets": { "high": { "first_response_minutes": 60, "resolution_minutes": 480 } } }));
        } else if method == "PATCH" {
            request = request.json(&serde_json::json!({ "priority": "high", "tags": ["printer"] }));
        } else if path.ends_with("/messages") && method == "POST" {
            request = request.json(&serde_json::json!({ "body": format!("Reply {n}") }));
        } else if path.ends_with("/links") && method == "POST" {
            request = request.json(&serde_json::json!({ "number": third }));
        } else if path.ends_with("/merge") {
            request = request.json(&serde_json::json!({ "into": third }));
        } else if path.contains("/time-entries")
            && matches!(method, "POST" | "PUT")
            && !path.ends_with("/invoice")
        {
            request = request.json(&serde_json::json!({ "minutes": 30, "work_date": "2026-12-01", "technician_id": technician }));
        } else if path == "/api/v1/ticket-statuses" && method == "POST" {
            request = request
                .json(&serde_json::json!({ "key": format!("on_site_{n}"), "class": "open" }));
        } else if path.starts_with("/api/v1/ticket-statuses/") {
            request = request.json(&serde_json::json!({ "pauses_sla": true }));
        } else if path.ends_with("/members") && method == "PUT" {
            request = request.json(&serde_json::json!({ "members": [] }));
        } else if path.starts_with("/api/v1/ticket-workflow/") && method == "PUT" {
            request = request.json(
                &serde_json::json!({ "rules": [{ "from": "*", "to": "closed" }, { "from": "resolved", "to": "open" }] }),
            );
        } else if path == "/api/v1/ticket-queues" && method == "POST" {
            request = request.json(&serde_json::json!({ "key": format!("second_{n}"), "name": "Second level", "level": 2 }));
        } else if path == "/api/v1/ticket-fields" && method == "POST" {
            request = request.json(
                &serde_json::json!({ "key": "asset_tag", "label": "Asset tag", "kind": "text" }),
            );
        } else if path.starts_with("/api/v1/ticket-fields/")
            || path.starts_with("/api/v1/portal-fields/")
        {
            request = request.json(&serde_json::json!({ "portal": "hidden" }));
        } else if path == "/api/v1/ticket-types" && method == "POST" {
            request = request.json(&serde_json::json!({ "key": format!("access_{n}"), "name": "Access change", "requires_approval": true }));
        } else if method == "PUT" && path.starts_with("/api/v1/settings/") {
            request = request.json(&serde_json::json!(true));
        } else if method == "PUT" {
            request = request.json(&serde_json::json!({ "enabled": true }));
        } else if method == "POST" && path == "/api/v1/organizations" {
            request = request.json(&serde_json::json!({ "name": format!("Org {n}"), "domains": [format!("org{n}.example")] }));
        } else if path.ends_with("/status") {
            request = request.json(&serde_json::json!({ "status": "open" }));
        } else if method == "POST" && path == "/api/v1/tickets" {
            request = request.json(&serde_json::json!({ "subject": format!("Printer {n}"), "requester_email": format!("requester{n}@acme.example") }));
        } else if method == "POST" && path == "/api/v1/webhooks" {
            request = request
                .json(&serde_json::json!({ "url": format!("https://hooks{n}.example.com/in") }));
        } else if method == "POST" && path == "/api/v1/domains" {
            request =
                request.json(&serde_json::json!({ "host": format!("help{n}.customer.example") }));
        } else if method == "POST" && path == "/api/v1/users" {
            request = request.json(&serde_json::json!({ "email": format!("new{n}@acme.example"), "role": "contact", "invite": false }));
        }
        request
    }
}

/// A row's path as the router declares it.
pub(crate) fn normalize(path: &str) -> String {
    // Every API route the router declares has its rows, for every role.
    path.replace("{id0}", "{id}")
        .replace("{id1}", "{id}")
        .replace("{id2}", "{id}")
        .replace("{req1}", "{id}")
        .replace("{req2}", "{id}")
        .replace("{ticket}", "{number}")
        .replace("{ticket2}", "{number}")
        .replace("{org}", "{id}")
        .replace("?from=2026-01-01&to=2026-12-31", "")
        .replace("{entry}", "{id}")
        .replace("/attachments/1", "/attachments/{id}")
        .replace("/ticket-statuses/waiting", "/ticket-statuses/{key}")
        .replace("/ticket-queues/second/", "/ticket-queues/{key}/")
        .replace("/ticket-workflow/contact", "/ticket-workflow/{role}")
        .replace("/ticket-fields/asset_tag", "/ticket-fields/{key}")
        .replace("/portal-fields/priority", "/portal-fields/{name}")
        .replace("{hook}", "{id}")
        .replace(
            "/settings/contacts-second-factor-optional",
            "/settings/{key}",
        )
        .replace("/sections/devices", "/sections/{section}")
        .replace("{kb}", "{key}")
        .replace("/translations/en", "/translations/{lang}")
        .replace("{msg}", "{id}")
        .replace("/plugins/matrix-plugin", "/plugins/{id}")
        .replace("/mail/inbound/999999", "/mail/inbound/{id}")
        .replace("/mail/mailboxes/999999", "/mail/mailboxes/{id}")
        .replace("?q=printer", "")
        .replace("?subject=printer", "")
        .to_owned()
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn every_role_on_every_api_route(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let fixture = Fixture::new(&app).await;
    for (method, path) in portico_core::http::api::API_ROUTES {
        for role in Role::ALL {
            assert!(
                MATRIX
                    .iter()
                    .any(|(r, m, p, _, _)| *r == role && m == method && normalize(p) == *path),
                "{role:?} {method} {path} is missing from the permission matrix"
            );
        }
    }
    let mut tokens = std::collections::HashMap::new();
    for role in Role::ALL {
        tokens.insert(role, app.token("acme", role).await);
    }
    // Every route appears for every role.
    let routes: std::collections::BTreeSet<(&str, &str)> =
        MATRIX.iter().map(|(_, m, p, _, _)| (*m, *p)).collect();
    for route in &routes {
        for role in Role::ALL {
            assert!(
                MATRIX
                    .iter()
                    .any(|(r, m, p, _, _)| *r == role && (*m, *p) == *route),
                "{role:?} {route:?} missing"
            );
        }
    }
    for (n, (role, method, path, status, listed)) in MATRIX.iter().enumerate() {
        let url = fixture.url(path);
        let mut request = app
            .request(
                Method::from_bytes(method.as_bytes()).expect("method"),
                "acme.localhost",
                &url,
            )
            .bearer_auth(&tokens[role]);
        request = fixture.with_body(request, method, path, n);
        let response = request.send().await.expect("sent");
        assert_eq!(
            response.status().as_u16(),
            *status,
            "{role:?} {method} {path}"
        );
        if *path == "/api/v1/audit/export" && *status == 200 {
            let text = response.text().await.expect("body");
            assert!(text.lines().count() >= 2, "{text}");
            for line in text.lines() {
                let entry: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
                assert!(entry["hash"].as_str().is_some_and(|h| h.len() == 64));
            }
            continue;
        }
        if let Some(count) = listed {
            let body: serde_json::Value = response.json().await.expect("json");
            let items = body
                .as_array()
                .unwrap_or_else(|| panic!("{role:?} {method} {path}: a list, not {body}"));
            assert_eq!(items.len(), *count, "{role:?} {method} {path}: scope");
        }
    }
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn personal_tokens_act_with_their_persons_scope_and_revoked_tokens_stop(
    #[case] backend: Backend,
) {
    use portico_tenants::organizations;
    use portico_tenants::tokens;
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let db = app.tenant("acme").await;
    let one = organizations::create_organization(&db, "One", &["one.example".to_owned()], "test")
        .await
        .expect("org");
    let two = organizations::create_organization(&db, "Two", &["two.example".to_owned()], "test")
        .await
        .expect("org");
    let person = |email: &'static str, role: Role, organization: i64| {
        let db = db.clone();
        async move {
            people::create_user(
                &db,
                NewUser {
                    email: EmailAddress::parse(email).expect("email"),
                    display_name: String::new(),
                    role,
                    invite: false,
                    organization_id: Some(organization),
                },
            )
            .await
            .expect("user")
        }
    };
    let boss = person("boss@one.example", Role::MainContact, one.id).await;
    let worker = person("worker@one.example", Role::Contact, one.id).await;
    person("other@two.example", Role::Contact, two.id).await;
    let store = app.store();
    let boss_token = tokens::create_personal_token(store, "acme", "boss", "boss@one.example")
        .await
        .expect("token");
    let worker_token = tokens::create_personal_token(store, "acme", "worker", "worker@one.example")
        .await
        .expect("token");
    let list = |token: String| {
        let request = app
            .request(Method::GET, "acme.localhost", "/api/v1/users")
            .bearer_auth(token);
        async move {
            let users: Vec<serde_json::Value> = request
                .send()
                .await
                .expect("sent")
                .json()
                .await
                .expect("json");
            let mut emails: Vec<String> = users
                .iter()
                .map(|u| u["email"].as_str().unwrap_or("").to_owned())
                .collect();
            emails.sort();
            emails
        }
    };
    assert_eq!(
        list(boss_token.clone()).await,
        ["boss@one.example", "worker@one.example"],
        "organization scope"
    );
    assert_eq!(
        list(worker_token.clone()).await,
        ["worker@one.example"],
        "own scope"
    );
    let seen = app
        .request(
            Method::GET,
            "acme.localhost",
            &format!("/api/v1/users/{}", boss.id),
        )
        .bearer_auth(&worker_token)
        .send()
        .await
        .expect("sent");
    assert_eq!(
        seen.status(),
        404,
        "another person's record is out of scope"
    );
    let own = app
        .request(
            Method::GET,
            "acme.localhost",
            &format!("/api/v1/users/{}", worker.id),
        )
        .bearer_auth(&worker_token)
        .send()
        .await
        .expect("sent");
    assert_eq!(own.status(), 200);
    let organizations: Vec<serde_json::Value> = app
        .request(Method::GET, "acme.localhost", "/api/v1/organizations")
        .bearer_auth(&boss_token)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(organizations.len(), 1);
    assert_eq!(organizations[0]["name"], "One");

    tokens::revoke_api_token(store, "acme", "worker")
        .await
        .expect("revoke");
    let refused = app
        .request(Method::GET, "acme.localhost", "/api/v1/tenant")
        .bearer_auth(&worker_token)
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status(), 401);
    let listed = tokens::list_api_tokens(store, "acme").await.expect("list");
    let boss_info = listed
        .iter()
        .find(|t| t.name == "boss")
        .expect("boss token");
    assert!(boss_info.last_used_at.is_some(), "last use is recorded");
    assert_eq!(boss_info.user_id, Some(boss.id));
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn section_switches_apply_for_everyone_per_organization_and_per_person(
    #[case] backend: Backend,
) {
    use portico_tenants::organizations;
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let db = app.tenant("acme").await;
    let one = organizations::create_organization(&db, "One", &["one.example".to_owned()], "test")
        .await
        .expect("org");
    let mut ids = Vec::new();
    for (email, organization) in [
        ("a@one.example", Some(one.id)),
        ("b@one.example", Some(one.id)),
        ("c@two.example", None),
    ] {
        let user = people::create_user(
            &db,
            NewUser {
                email: EmailAddress::parse(email).expect("email"),
                display_name: String::new(),
                role: Role::Contact,
                invite: false,
                organization_id: organization,
            },
        )
        .await
        .expect("user");
        ids.push(user.id);
    }
    let admin = app.token("acme", Role::MspAdmin).await;
    let switch = |section: &str, body: serde_json::Value| {
        app.request(
            Method::PUT,
            "acme.localhost",
            &format!("/api/v1/sections/{section}"),
        )
        .bearer_auth(&admin)
        .json(&body)
        .send()
    };
    let sections = |id: i64| {
        let request = app
            .request(
                Method::GET,
                "acme.localhost",
                &format!("/api/v1/users/{id}/sections"),
            )
            .bearer_auth(&admin);
        async move {
            request
                .send()
                .await
                .expect("sent")
                .json::<Vec<String>>()
                .await
                .expect("json")
        }
    };
    assert_eq!(
        sections(ids[0]).await.len(),
        6,
        "everything is on by default"
    );
    assert_eq!(
        switch("ai-assistant", serde_json::json!({ "enabled": false }))
            .await
            .expect("sent")
            .status(),
        204
    );
    assert_eq!(
        switch(
            "devices",
            serde_json::json!({ "enabled": false, "organization_id": one.id })
        )
        .await
        .expect("sent")
        .status(),
        204
    );
    assert_eq!(
        switch(
            "devices",
            serde_json::json!({ "enabled": true, "user_id": ids[1] })
        )
        .await
        .expect("sent")
        .status(),
        204
    );
    assert_eq!(
        switch("nonsense", serde_json::json!({ "enabled": true }))
            .await
            .expect("sent")
            .status(),
        422
    );
    let a = sections(ids[0]).await;
    let b = sections(ids[1]).await;
    let c = sections(ids[2]).await;
    assert!(
        !a.contains(&"ai_assistant".to_owned()) && !a.contains(&"devices".to_owned()),
        "{a:?}"
    );
    assert!(
        !b.contains(&"ai_assistant".to_owned()) && b.contains(&"devices".to_owned()),
        "the person's switch wins: {b:?}"
    );
    assert!(
        !c.contains(&"ai_assistant".to_owned()) && c.contains(&"devices".to_owned()),
        "{c:?}"
    );
    let technician = app.token("acme", Role::Technician).await;
    let refused = app
        .request(Method::PUT, "acme.localhost", "/api/v1/sections/devices")
        .bearer_auth(&technician)
        .json(&serde_json::json!({ "enabled": false }))
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status(), 403);
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_main_contact_requests_accounts_for_colleagues_and_the_msp_decides(
    #[case] backend: Backend,
) {
    use portico_tenants::{organizations, tokens};
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let db = app.tenant("acme").await;
    let one = organizations::create_organization(&db, "One", &["one.example".to_owned()], "test")
        .await
        .expect("org");
    let two = organizations::create_organization(&db, "Two", &["two.example".to_owned()], "test")
        .await
        .expect("org");
    for (email, role, org) in [
        ("boss@one.example", Role::MainContact, one.id),
        ("boss@two.example", Role::MainContact, two.id),
        ("plain@one.example", Role::Contact, one.id),
    ] {
        people::create_user(
            &db,
            NewUser {
                email: EmailAddress::parse(email).expect("email"),
                display_name: String::new(),
                role,
                invite: false,
                organization_id: Some(org),
            },
        )
        .await
        .expect("user");
    }
    let store = app.store();
    let boss = tokens::create_personal_token(store, "acme", "boss-one", "boss@one.example")
        .await
        .expect("token");
    let other_boss = tokens::create_personal_token(store, "acme", "boss-two", "boss@two.example")
        .await
        .expect("token");
    let plain = tokens::create_personal_token(store, "acme", "plain", "plain@one.example")
        .await
        .expect("token");
    let admin = app.token("acme", Role::MspAdmin).await;
    let ask = |token: &str, email: &str| {
        app.request(Method::POST, "acme.localhost", "/api/v1/account-requests")
            .bearer_auth(token)
            .json(&serde_json::json!({ "email": email, "display_name": "New Colleague" }))
            .send()
    };
    let created = ask(&boss, "new@one.example").await.expect("sent");
    assert_eq!(created.status(), 201);
    let request: serde_json::Value = created.json().await.expect("json");
    assert_eq!(request["organization_id"], one.id);
    assert_eq!(
        ask(&plain, "x@one.example").await.expect("sent").status(),
        403,
        "only main contacts ask"
    );
    assert_eq!(
        ask(&other_boss, "y@two.example")
            .await
            .expect("sent")
            .status(),
        201
    );
    let list = |token: &str| {
        let request = app
            .request(Method::GET, "acme.localhost", "/api/v1/account-requests")
            .bearer_auth(token);
        async move {
            request
                .send()
                .await
                .expect("sent")
                .json::<Vec<serde_json::Value>>()
                .await
                .expect("json")
        }
    };
    assert_eq!(
        list(&boss).await.len(),
        1,
        "a main contact sees their organization's requests"
    );
    assert_eq!(list(&admin).await.len(), 2, "the MSP sees all");
    let id = request["id"].as_i64().expect("id");
    let decide = |token: &str, verb: &str| {
        app.request(
            Method::POST,
            "acme.localhost",
            &format!("/api/v1/account-requests/{id}/{verb}"),
        )
        .bearer_auth(token)
        .send()
    };
    assert_eq!(
        decide(&boss, "approve").await.expect("sent").status(),
        403,
        "the requester cannot approve"
    );
    let approved = decide(&admin, "approve").await.expect("sent");
    assert_eq!(approved.status(), 200);
    assert_eq!(
        decide(&admin, "reject").await.expect("sent").status(),
        409,
        "decided once"
    );
    let colleague = portico_tenants::accounts::login_by_email(&db, "new@one.example")
        .await
        .expect("lookup")
        .expect("created");
    assert_eq!(colleague.role, Role::Contact);
    assert_eq!(
        portico_tenants::policy::organization_of(&db, colleague.user_id)
            .await
            .expect("org"),
        Some(one.id)
    );
    app.stop().await;
}
