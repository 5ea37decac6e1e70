portal-title = { $tenant } service desk
portal-welcome = Welcome to the { $tenant } service desk: open and follow your tickets, read the knowledge base and manage your devices.
operator-title = Portico operator console
operator-welcome = Sign in to manage the tenants of this installation. The first administrator uses the set-up link printed when Portico started.
not-found-title = Page not found
not-found-body = There is nothing at this address.
suspended-title = { $tenant } is unavailable
suspended-body = This service desk is temporarily unavailable. Please try again later or contact your IT provider by phone.
error-not-found = Not found.
error-unauthorized = Authentication is required.
error-forbidden = You are not allowed to do this.
error-invalid-input = The input is not valid.
error-conflict = This already exists.
error-unavailable = The service is temporarily unavailable.
error-timeout = The request took too long.
error-payload-too-large = The request is too large.
error-internal = Something went wrong on our side. It has been logged.
invitation-subject = Your { $tenant } service desk account
invitation-body = Hello,

    an account has been created for you on the { $tenant } service desk.

    Address: { $portal }
    User name: { $email }

    Choose your password and second factor here (the link works once and expires in 72 hours):
    { $link }
login-title = Sign in
login-email = E-mail address
login-password = Password
login-submit = Sign in
login-failed = The e-mail address or the password is not correct.
second-factor-title = Enter your code
second-factor-help = Open your authenticator app and enter the 6-digit code it shows, or one of your recovery codes.
second-factor-code = Code
second-factor-submit = Continue
second-factor-failed = This code is not valid. Each code works only once.
enrol-title = Set up your authenticator app
enrol-help = Scan the QR code with an authenticator app (for example Microsoft Authenticator, Google Authenticator or 2FAS), then enter the 6-digit code it shows.
enrol-manual = Or enter this key by hand:
recovery-title = Your recovery codes
recovery-help = Keep these codes somewhere safe. Each one signs you in once if you lose your phone. They are shown only this once.
continue = Continue
invite-title = Welcome to { $tenant }
invite-help = Choose a password: at least 8 characters, with upper- and lower-case letters and a digit or a symbol.
invite-password-again = Repeat the password
invite-submit = Save the password
invite-invalid-title = Link no longer valid
invite-invalid = This link has been used or has expired. Ask your IT provider for a new invitation.
invite-email-invalid = Enter a valid e-mail address.
invite-email-taken = An account with this e-mail address already exists.
password-too-short = The password must have at least 8 characters.
password-too-long = The password may have at most 128 characters.
password-too-simple = The password needs an upper-case letter, a lower-case letter and a digit or a symbol.
password-too-common = This password is too common or too close to your e-mail address.
password-mismatch = The two passwords are not the same.
signed-in-as = Signed in as { $email }
logout = Sign out
nav-sessions = Sessions
nav-home = Back to the portal
sessions-title = Your sessions
sessions-current = This session
sessions-end = End
sessions-started = Started
sessions-last-seen = Last active
maintenance-title = { $tenant } is being updated
maintenance-body = This service desk is being updated and will be back in a few minutes.
rate-limited-title = Too many attempts
rate-limited-body = Too many attempts. Please wait { $minutes } minute(s) and try again.
stepup-title = Confirm it is you
stepup-help-new = This action needs a code sent to your mobile phone. Enter your number in international format; it is saved once the code confirms it.
stepup-help-known = This action needs a code sent to your mobile phone { $phone }.
stepup-phone = Mobile number
stepup-send = Send the code
stepup-code-help = Enter the 6-digit code from the text message. It is valid for 5 minutes.
stepup-phone-invalid = Enter the number in international format, for example +39 333 123 4567.
stepup-send-failed = The text message could not be sent. Please try again later.
stepup-code-unusable = This code has expired or was tried too often. Send a new one.
stepup-sms = Your { $tenant } code is { $code }. It expires in 5 minutes. Never share it.
login-sso-heading = Sign in with your organization's account
login-sso-submit = Continue
sso-not-available = Single sign-on is not set up for this e-mail domain. Sign in with your password.
sso-failed = Single sign-on did not succeed. Try again, or ask your IT provider.
reset-link = Forgot your password?
reset-title = Reset your password
reset-help = Enter the e-mail address of your account. We send you a link to choose a new password; your second factor is still needed to sign in.
reset-submit = Send the link
reset-sent = If an account exists for this address, a link is on its way. It is valid for one hour.
reset-new-title = Choose a new password
password-reset-subject = Reset your { $tenant } password
password-reset-body = Hello,

    someone asked to reset the password of { $email } on the { $tenant } service desk. If it was you, choose a new password here (the link works once and expires in one hour):
    { $link }

    If it was not you, ignore this message: your password stays as it is.
enrol-sms-heading = Or use text messages
sms-code-sent = We sent a 6-digit code to { $phone }. It is valid for 5 minutes.
second-factor-sms-send = Send a code to { $phone }
operator-setup-title = Set up your operator account
operator-setup-invalid = This set-up link has been used or has expired. Ask another platform administrator for a new one, or create one with "portico admin create".
operator-tenants = Tenants
operator-tenant-slug = Address
operator-tenant-name = Name
operator-tenant-status = Status
operator-status-active = Active
operator-status-suspended = Suspended
operator-status-other = Being prepared
domain-verified-subject = { $host } is verified
domain-verified-body = Hello,

    the DNS records of { $host } are in place: the domain is verified and now serves your portal. Its TLS certificate is being issued and renewed automatically.
domain-grace-subject = Action needed: the DNS records of { $host } are missing
domain-grace-body = Hello,

    the last check of { $host } found a problem:

    { $problems }

    The domain keeps working for now. If the records are not restored, it will be disabled at the end of the grace period: it then no longer serves your portal and its certificate is no longer renewed.
domain-disabled-subject = { $host } has been disabled
domain-disabled-body = Hello,

    the DNS records of { $host } stayed missing through the grace period, so the domain has been disabled: it no longer serves your portal.

    { $problems }

    Restore the records and the domain is verified again at the next check.
domain-recovered-subject = The DNS records of { $host } are back
domain-recovered-body = Hello,

    the DNS records of { $host } are in place again: nothing more is needed.
approval-title = Approval for ticket #{ $number }
approval-intro = You are asked to approve this request. Nothing changes until you choose below.
approval-reason = Reason (required to reject; the requester will read it)
approval-approve = Approve
approval-reject = Reject
approval-done-approved = Thank you: you approved ticket #{ $number }.
approval-done-rejected = Thank you: you rejected ticket #{ $number }. The requester will be told why.
approval-link-invalid-title = Link no longer valid
approval-link-invalid = This approval link has expired or was already used. Sign in to the portal to see the request.
approval-mail-subject = [{ $tenant }] Approval requested for ticket #{ $number }: { $subject }
approval-mail-body = A request needs your approval:

    #{ $number } { $subject }

    Open this link to read it and approve or reject it (the link works once, for 7 days):
    { $link }
approval-rejected-subject = [{ $tenant }] Ticket #{ $number } was not approved
approval-rejected-body = Your request #{ $number } "{ $subject }" was not approved.

    Reason: { $reason }
rating-low-subject = Ticket #{ $number } was rated { $rating } of 5
rating-low-body = The requester rated the answer to ticket #{ $number } { $rating } of 5.

    { $comment }
priority-critical = Critical
priority-critical-help = A global outage affecting several users, or a security problem.
priority-high = High
priority-high-help = One user is blocked and cannot work.
priority-medium = Medium
priority-medium-help = Urgent, but work can go on meanwhile.
priority-low = Low
priority-low-help = Not urgent.

# The API reference page at /api/docs.
api-docs-title = API reference
api-docs-intro = Every operation of the tenant API. The machine-readable description:
api-docs-parameters = Parameters
api-docs-request = Request body
api-docs-responses = Responses
api-docs-required = required
escalation-mail-subject = Ticket #{ $number } escalated to level { $level }: { $subject }
escalation-mail-body = Ticket #{ $number } ({ $subject }) has moved to support level { $level } because { $reason ->
        [breached] its SLA was breached
       *[at_risk] its SLA is at risk
    }. Please take it over.

kb-title = Knowledge base
kb-search-label = Search the knowledge base
kb-search-button = Search
kb-results = Articles found: { $count }
kb-no-results = Nothing found. Try other words, or open a ticket.
kb-empty = No articles yet.
kb-back = All articles
kb-other-languages = Also in

## E-mail channel
mail-reply-above = Please type your reply above this line
mail-close-label = Problem solved? Close the ticket
mail-footer = This message was sent by the { $tenant } service desk. Reply to this e-mail to add to your ticket; please keep the subject as it is.
ticket-created-mail-subject = Ticket #{ $number } received: { $subject }
ticket-created-mail-body = Hello,

    we have received your request and opened ticket #{ $number }:

    { $description }

    Reply to this e-mail to add information. You can follow the ticket here: { $link }
ticket-reply-mail-subject = Re: { $subject }
ticket-reply-mail-body = { $author } wrote on ticket #{ $number }:

    { $body }

    Reply to this e-mail to answer. The whole ticket: { $link }
ticket-status-mail-subject = Ticket #{ $number } is now { $status }: { $subject }
ticket-status-mail-body = Your ticket #{ $number } "{ $subject }" is now { $status }.

    If something is still missing, just reply to this e-mail. The ticket: { $link }
ticket-status-waiting = waiting for your answer
ticket-status-resolved = resolved
ticket-status-closed = closed
ticket-sla-mail-subject = SLA { $state }: ticket #{ $number } { $subject }
ticket-sla-mail-body = The SLA of ticket #{ $number } "{ $subject }" is { $state }.

    Open it: { $link }
mail-sla-at_risk = at risk
mail-sla-breached = breached
mail-no-subject = (no subject)
mail-refusal-subject = Your message to { $tenant } was not accepted
mail-refusal-body = Hello,

    the { $tenant } service desk only accepts requests from the people and organizations it serves, so your message "{ $subject }" was not turned into a ticket.

    If you believe this is a mistake, please contact your service provider by another channel.
mail-close-invalid-title = This link no longer works
mail-close-invalid = The link has expired or is not valid. Sign in to the portal to manage your ticket.
mail-close-title = Close ticket #{ $number }
mail-close-intro = Is your problem solved? Confirm to close the ticket. You can still reply to it later.
mail-close-confirm = Close the ticket
mail-close-done = Ticket #{ $number } is closed. Thank you!

# Portal and console ticket pages
skip-to-content = Skip to content
nav-main = Main
nav-tickets = Tickets
nav-console = Console
nav-kb = Knowledge base
language-label = Language
language-save = Change
language-unknown = This language is not available.
console-views = Views
console-view-mine = My tickets
console-view-unassigned = Unassigned
console-view-sla = SLA at risk
console-view-approval = Awaiting approval
console-view-all = All tickets
tickets-title = My tickets
tickets-search = Search tickets
tickets-search-submit = Search
tickets-new = New ticket
tickets-status-tabs = Status
tickets-tab-open = In progress
tickets-tab-all = All
tickets-count = { $count } tickets
tickets-col-status = Status
tickets-col-number = Number
tickets-col-subject = Subject
tickets-col-priority = Priority
tickets-col-sla = SLA
tickets-col-updated = Last update
tickets-next-page = Next page
tickets-none = No tickets here.
status-new = New
status-open = Open
status-waiting = Waiting
status-paused = Paused
status-resolved = Resolved
status-closed = Closed
sla-at-risk = At risk
sla-breached = Breached
sla-paused = Paused
approval-pending = Awaiting approval
approval-approved = Approved
approval-rejected = Rejected
ticket-subject = Subject
ticket-subject-required = Please give the ticket a subject.
ticket-email = E-mail address
ticket-email-hint = Answers are sent to this address.
ticket-email-invalid = This is not an e-mail address.
ticket-description = Description
ticket-priority = Priority
ticket-type = Type
ticket-type-none = General request
ticket-files = Attachments
ticket-files-hint = Choose files, drop them here or paste a screenshot.
ticket-submit = Open the ticket
ticket-thread = Conversation
ticket-internal-note = Internal note
ticket-live-updated = The conversation was updated.
ticket-reply = Reply
ticket-reply-body = Your message
ticket-reply-submit = Send
ticket-reply-empty = Please write a message or attach a file.
ticket-details = Details
ticket-approval = Approval
ticket-requester = Requester
ticket-assignee = Assigned to
ticket-unassigned = Nobody yet
ticket-created = Opened
ticket-change-status = Status
ticket-change-status-submit = Change status
ticket-close = Close the ticket
ticket-reopen = Reopen the ticket
ticket-take = Assign to me
ticket-cannot-reopen = Tickets of this service desk cannot be reopened; please open a new one.
ticket-notice-replied = Your message was added.
ticket-notice-status = The ticket was updated.
ticket-author-system = Service desk
form-refused-title = This could not be saved
form-files-again = Please attach your files again.

# Ticket page: rating, approval decision, technician workspace
ticket-notice-rated = Thank you for your rating.
ticket-notice-decided = Your decision was recorded.
ticket-notice-time = The time was logged.
rating-1 = 1 — Very poor
rating-2 = 2 — Poor
rating-3 = 3 — Acceptable
rating-4 = 4 — Good
rating-5 = 5 — Excellent
ticket-rating = Rate the answer
ticket-rating-question = How well was your request handled?
ticket-rating-comment = Comment (optional)
ticket-rating-submit = Send rating
ticket-rating-missing = Please choose a rating from 1 to 5.
ticket-decide = Your approval is needed
ticket-decide-help = This request needs an approver's agreement before the technicians can work on it.
ticket-decide-reason = Reason
ticket-decide-reason-hint = Required when you reject: the requester receives it.
ticket-approve = Approve
ticket-reject = Reject
ticket-reject-reason-missing = Please give the requester a reason for the rejection.
ticket-fields-submit = Save priority and type
ticket-time = Time worked
ticket-time-total = In all:
ticket-time-add = Log time
ticket-time-hours = Hours
ticket-time-minutes = Minutes
ticket-time-date = Date
ticket-time-duration = Duration
ticket-time-billable = Billable
ticket-time-note = Note
ticket-time-submit = Log time
ticket-time-invalid = Enter the hours and minutes worked as whole numbers.
ticket-time-invoiced = invoiced
ticket-requester-others = The requester's other tickets
yes = Yes
no = No
duration-minutes = { $minutes } min
duration-hours = { $hours } h
duration-hours-minutes = { $hours } h { $minutes } min

# Account settings
nav-settings = Settings
settings-title = Your settings
settings-signed-in-as = Signed in as
settings-language-choice = Language of the portal and your e-mails
settings-password = Password
settings-password-help = At least 8 characters with an upper-case letter, a lower-case letter and a digit or a symbol. Changing it signs you out everywhere.
settings-password-current = Current password
settings-password-new = New password
settings-password-again = New password again
settings-password-submit = Change the password
settings-password-wrong = The current password is not correct.
settings-password-changed-title = Password changed
settings-password-changed = Your password was changed and every session was ended. Please sign in again.
settings-security = Sign-in security
settings-factor = Second factor
settings-factor-totp = Authenticator app
settings-factor-sms = Text messages
settings-factor-none = Not set up
settings-phone = Mobile number
settings-phone-none = None
settings-phone-add = Add a mobile number
settings-phone-change-help = To use another number, remove this one and add the new one.
settings-phone-remove = Remove the number
settings-phone-removed = The mobile number was removed.
settings-phone-is-factor = This number receives your sign-in codes; an administrator can reset your second factor to change it.
settings-sessions-link = See and end your active sessions

# Console: organization filter and bulk actions
console-organization = Organization
console-organization-all = All organizations
console-bulk = Change the selected tickets
console-bulk-action = Action
console-bulk-status = Set the status
console-bulk-priority = Set the priority
console-bulk-new-status = Status
console-bulk-new-priority = Priority
console-bulk-apply = Apply to the selected
console-bulk-select = Select
console-bulk-choose = Select between 1 and 100 tickets.
console-bulk-done = { $count } ticket(s) changed.
console-bulk-partly = { $count } ticket(s) changed; { $failed } could not be changed (awaiting approval, or not allowed).

# Service reports and colleagues' accounts
nav-reports = Reports
nav-colleagues = Colleagues
report-title = Service report
report-from = From
report-to = To (included)
report-show = Show
report-csv = Download as CSV
report-opened = Tickets opened
report-resolved = Tickets resolved
report-closed = Tickets closed
report-first-response = Mean time to first response
report-resolution = Mean time to resolution
report-sla = SLA compliance
report-ratings = Ratings
report-mean-rating = Mean rating
report-low-ratings = Low ratings
report-billable = Billable time
report-non-billable = Non-billable time
colleagues-title = Accounts for colleagues
colleagues-help = Ask the service desk for an account for a colleague of your organization. You are told when it is decided; your colleague receives an invitation.
colleagues-name = Name
colleagues-submit = Ask for the account
colleagues-requests = Your organization's requests
colleagues-none = No requests yet.
colleagues-requested = The request was sent to the service desk.
colleagues-email-invalid = Enter a valid e-mail address.
colleagues-status-pending = Waiting for the service desk
colleagues-status-approved = Approved
colleagues-status-rejected = Rejected

# Time zone
settings-time-zone = Time zone
settings-time-zone-help = Times on every page are shown in this zone. It is now
settings-time-zone-choice = Your time zone
settings-time-zone-default = The organisation's default
settings-time-zone-save = Save time zone
settings-time-zone-saved = Time zone saved.
settings-time-zone-unknown = That is not a time zone we know.
ticket-canned = Canned response
ticket-canned-insert = Insert

# Plugin views (/apps)
nav-apps = Apps
apps-title = Apps
apps-none = No apps are available to you yet.
apps-unavailable = This app is busy or paused. Please try again in a moment.
apps-failed = This app could not answer. Please try again later.
apps-assistant = Assistant
apps-you = You
