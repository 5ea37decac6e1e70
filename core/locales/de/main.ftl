portal-title = { $tenant } Servicedesk
portal-welcome = Willkommen beim { $tenant } Servicedesk: Tickets eröffnen und verfolgen, die Wissensdatenbank lesen und Ihre Geräte verwalten.
operator-title = Portico Betreiberkonsole
operator-welcome = Melden Sie sich an, um die Mandanten dieser Installation zu verwalten. Der erste Administrator verwendet den Einrichtungslink, den Portico beim Start ausgegeben hat.
not-found-title = Seite nicht gefunden
not-found-body = Unter dieser Adresse gibt es nichts.
suspended-title = { $tenant } ist nicht verfügbar
suspended-body = Dieser Servicedesk ist vorübergehend nicht verfügbar. Bitte versuchen Sie es später erneut oder kontaktieren Sie Ihren IT-Dienstleister telefonisch.
error-not-found = Nicht gefunden.
error-unauthorized = Eine Anmeldung ist erforderlich.
error-forbidden = Das dürfen Sie nicht.
error-invalid-input = Die Eingabe ist ungültig.
error-conflict = Das existiert bereits.
error-unavailable = Der Dienst ist vorübergehend nicht verfügbar.
error-timeout = Die Anfrage hat zu lange gedauert.
error-payload-too-large = Die Anfrage ist zu groß.
error-internal = Bei uns ist ein Fehler aufgetreten. Er wurde protokolliert.
invitation-subject = Ihr Konto beim { $tenant } Servicedesk
invitation-body = Guten Tag,

    für Sie wurde ein Konto beim { $tenant } Servicedesk angelegt.

    Adresse: { $portal }
    Benutzername: { $email }

    Wählen Sie hier Ihr Passwort und Ihren zweiten Faktor (der Link funktioniert einmal und läuft nach 72 Stunden ab):
    { $link }
login-title = Anmelden
login-email = E-Mail-Adresse
login-password = Passwort
login-submit = Anmelden
login-failed = Die E-Mail-Adresse oder das Passwort ist nicht korrekt.
second-factor-title = Code eingeben
second-factor-help = Öffnen Sie Ihre Authenticator-App und geben Sie den angezeigten 6-stelligen Code oder einen Ihrer Wiederherstellungscodes ein.
second-factor-code = Code
second-factor-submit = Weiter
second-factor-failed = Dieser Code ist ungültig. Jeder Code funktioniert nur einmal.
enrol-title = Authenticator-App einrichten
enrol-help = Scannen Sie den QR-Code mit einer Authenticator-App (zum Beispiel Microsoft Authenticator, Google Authenticator oder 2FAS) und geben Sie dann den angezeigten 6-stelligen Code ein.
enrol-manual = Oder geben Sie diesen Schlüssel von Hand ein:
recovery-title = Ihre Wiederherstellungscodes
recovery-help = Bewahren Sie diese Codes sicher auf. Jeder ermöglicht eine Anmeldung, falls Sie Ihr Telefon verlieren. Sie werden nur dieses eine Mal angezeigt.
continue = Weiter
invite-title = Willkommen bei { $tenant }
invite-help = Wählen Sie ein Passwort: mindestens 8 Zeichen mit Groß- und Kleinbuchstaben und einer Ziffer oder einem Sonderzeichen.
invite-password-again = Passwort wiederholen
invite-submit = Passwort speichern
invite-invalid-title = Link nicht mehr gültig
invite-invalid = Dieser Link wurde bereits verwendet oder ist abgelaufen. Bitten Sie Ihren IT-Dienstleister um eine neue Einladung.
invite-email-invalid = Geben Sie eine gültige E-Mail-Adresse ein.
invite-email-taken = Für diese E-Mail-Adresse besteht bereits ein Konto.
password-too-short = Das Passwort muss mindestens 8 Zeichen lang sein.
password-too-long = Das Passwort darf höchstens 128 Zeichen lang sein.
password-too-simple = Das Passwort braucht einen Großbuchstaben, einen Kleinbuchstaben und eine Ziffer oder ein Sonderzeichen.
password-too-common = Dieses Passwort ist zu verbreitet oder Ihrer E-Mail-Adresse zu ähnlich.
password-mismatch = Die beiden Passwörter stimmen nicht überein.
signed-in-as = Angemeldet als { $email }
logout = Abmelden
nav-sessions = Sitzungen
nav-home = Zurück zum Portal
sessions-title = Ihre Sitzungen
sessions-current = Diese Sitzung
sessions-end = Beenden
sessions-started = Begonnen
sessions-last-seen = Zuletzt aktiv
maintenance-title = { $tenant } wird aktualisiert
maintenance-body = Dieser Servicedesk wird gerade aktualisiert und ist in wenigen Minuten wieder verfügbar.
rate-limited-title = Zu viele Versuche
rate-limited-body = Zu viele Versuche. Bitte warten Sie { $minutes } Minute(n) und versuchen Sie es erneut.
stepup-title = Bestätigen Sie, dass Sie es sind
stepup-help-new = Diese Aktion erfordert einen Code, der an Ihr Mobiltelefon gesendet wird. Geben Sie Ihre Nummer im internationalen Format ein; sie wird gespeichert, sobald der Code sie bestätigt.
stepup-help-known = Diese Aktion erfordert einen Code, der an Ihr Mobiltelefon { $phone } gesendet wird.
stepup-phone = Mobilnummer
stepup-send = Code senden
stepup-code-help = Geben Sie den 6-stelligen Code aus der SMS ein. Er ist 5 Minuten gültig.
stepup-phone-invalid = Geben Sie die Nummer im internationalen Format ein, zum Beispiel +49 170 1234567.
stepup-send-failed = Die SMS konnte nicht gesendet werden. Bitte versuchen Sie es später erneut.
stepup-code-unusable = Dieser Code ist abgelaufen oder wurde zu oft versucht. Fordern Sie einen neuen an.
stepup-sms = Ihr { $tenant }-Code lautet { $code }. Er läuft in 5 Minuten ab. Geben Sie ihn nie weiter.
login-sso-heading = Mit dem Konto Ihrer Organisation anmelden
login-sso-submit = Weiter
sso-not-available = Für diese E-Mail-Domain ist keine Einmalanmeldung eingerichtet. Melden Sie sich mit Ihrem Passwort an.
sso-failed = Die Einmalanmeldung ist fehlgeschlagen. Versuchen Sie es erneut oder wenden Sie sich an Ihren IT-Dienstleister.
reset-link = Passwort vergessen?
reset-title = Passwort zurücksetzen
reset-help = Geben Sie die E-Mail-Adresse Ihres Kontos ein. Wir senden Ihnen einen Link, um ein neues Passwort zu wählen; Ihr zweiter Faktor bleibt für die Anmeldung nötig.
reset-submit = Link senden
reset-sent = Falls für diese Adresse ein Konto besteht, ist ein Link unterwegs. Er ist eine Stunde gültig.
reset-new-title = Neues Passwort wählen
password-reset-subject = Ihr { $tenant }-Passwort zurücksetzen
password-reset-body = Guten Tag,

    jemand hat verlangt, das Passwort von { $email } beim { $tenant } Servicedesk zurückzusetzen. Wenn Sie es waren, wählen Sie hier ein neues Passwort (der Link funktioniert einmal und läuft nach einer Stunde ab):
    { $link }

    Wenn nicht, ignorieren Sie diese Nachricht: Ihr Passwort bleibt unverändert.
enrol-sms-heading = Oder SMS verwenden
sms-code-sent = Wir haben einen 6-stelligen Code an { $phone } gesendet. Er ist 5 Minuten gültig.
second-factor-sms-send = Code an { $phone } senden
operator-setup-title = Richten Sie Ihr Betreiberkonto ein
operator-setup-invalid = Dieser Einrichtungslink wurde bereits verwendet oder ist abgelaufen. Bitten Sie einen anderen Plattform-Administrator um einen neuen, oder erstellen Sie ihn mit „portico admin create“.
operator-tenants = Mandanten
operator-tenant-slug = Adresse
operator-tenant-name = Name
operator-tenant-status = Status
operator-status-active = Aktiv
operator-status-suspended = Gesperrt
operator-status-other = Wird eingerichtet
domain-verified-subject = { $host } ist verifiziert
domain-verified-body = Hallo,

    die DNS-Einträge von { $host } sind vorhanden: Die Domain ist verifiziert und liefert jetzt Ihr Portal aus. Ihr TLS-Zertifikat wird automatisch ausgestellt und erneuert.
domain-grace-subject = Handlungsbedarf: Die DNS-Einträge von { $host } fehlen
domain-grace-body = Hallo,

    bei der letzten Prüfung von { $host } wurde ein Problem gefunden:

    { $problems }

    Die Domain funktioniert vorerst weiter. Werden die Einträge nicht wiederhergestellt, wird sie am Ende der Karenzzeit deaktiviert: Sie liefert Ihr Portal dann nicht mehr aus, und ihr Zertifikat wird nicht mehr erneuert.
domain-disabled-subject = { $host } wurde deaktiviert
domain-disabled-body = Hallo,

    die DNS-Einträge von { $host } fehlten während der gesamten Karenzzeit, daher wurde die Domain deaktiviert: Sie liefert Ihr Portal nicht mehr aus.

    { $problems }

    Stellen Sie die Einträge wieder her, dann wird die Domain bei der nächsten Prüfung erneut verifiziert.
domain-recovered-subject = Die DNS-Einträge von { $host } sind wieder da
domain-recovered-body = Hallo,

    die DNS-Einträge von { $host } sind wieder vorhanden: Es ist nichts weiter zu tun.
approval-title = Genehmigung für Ticket #{ $number }
approval-intro = Sie werden gebeten, diese Anfrage zu genehmigen. Es ändert sich nichts, bis Sie unten wählen.
approval-reason = Begründung (für eine Ablehnung erforderlich; der Anfragende liest sie)
approval-approve = Genehmigen
approval-reject = Ablehnen
approval-done-approved = Danke: Sie haben Ticket #{ $number } genehmigt.
approval-done-rejected = Danke: Sie haben Ticket #{ $number } abgelehnt. Der Anfragende erfährt die Begründung.
approval-link-invalid-title = Link nicht mehr gültig
approval-link-invalid = Dieser Genehmigungslink ist abgelaufen oder wurde bereits verwendet. Melden Sie sich im Portal an, um die Anfrage zu sehen.
approval-mail-subject = [{ $tenant }] Genehmigung für Ticket #{ $number } angefordert: { $subject }
approval-mail-body = Eine Anfrage wartet auf Ihre Genehmigung:

    #{ $number } { $subject }

    Öffnen Sie diesen Link, um sie zu lesen und zu genehmigen oder abzulehnen (der Link gilt einmal, 7 Tage lang):
    { $link }
approval-rejected-subject = [{ $tenant }] Ticket #{ $number } wurde nicht genehmigt
approval-rejected-body = Ihre Anfrage #{ $number } „{ $subject }“ wurde nicht genehmigt.

    Begründung: { $reason }
rating-low-subject = Ticket #{ $number } wurde mit { $rating } von 5 bewertet
rating-low-body = Der Anfragende hat die Antwort auf Ticket #{ $number } mit { $rating } von 5 bewertet.

    { $comment }
priority-critical = Kritisch
priority-critical-help = Ein umfassender Ausfall, der mehrere Benutzer betrifft, oder ein Sicherheitsproblem.
priority-high = Hoch
priority-high-help = Ein Benutzer ist blockiert und kann nicht arbeiten.
priority-medium = Mittel
priority-medium-help = Dringend, aber die Arbeit kann vorerst weitergehen.
priority-low = Niedrig
priority-low-help = Nicht dringend.

# The API reference page at /api/docs.
api-docs-title = API-Referenz
api-docs-intro = Alle Operationen der Mandanten-API. Die maschinenlesbare Beschreibung:
api-docs-parameters = Parameter
api-docs-request = Anfragekörper
api-docs-responses = Antworten
api-docs-required = erforderlich
escalation-mail-subject = Ticket #{ $number } an Stufe { $level } eskaliert: { $subject }
escalation-mail-body = Ticket #{ $number } ({ $subject }) wurde an Support-Stufe { $level } übergeben, weil { $reason ->
        [breached] sein SLA verletzt wurde
       *[at_risk] sein SLA gefährdet ist
    }. Bitte übernehmen Sie es.

kb-title = Wissensdatenbank
kb-search-label = In der Wissensdatenbank suchen
kb-search-button = Suchen
kb-results = Gefundene Artikel: { $count }
kb-no-results = Nichts gefunden. Versuchen Sie andere Wörter oder eröffnen Sie ein Ticket.
kb-empty = Noch keine Artikel.
kb-back = Alle Artikel
kb-other-languages = Auch auf

## E-mail channel
mail-reply-above = Bitte schreiben Sie Ihre Antwort oberhalb dieser Zeile
mail-close-label = Problem gelöst? Ticket schließen
mail-footer = Diese Nachricht wurde vom Service Desk { $tenant } gesendet. Antworten Sie auf diese E-Mail, um Ihr Ticket zu ergänzen; bitte lassen Sie den Betreff unverändert.
ticket-created-mail-subject = Ticket #{ $number } eingegangen: { $subject }
ticket-created-mail-body = Guten Tag,

    wir haben Ihre Anfrage erhalten und das Ticket #{ $number } eröffnet:

    { $description }

    Antworten Sie auf diese E-Mail, um Informationen zu ergänzen. Zum Ticket: { $link }
ticket-reply-mail-subject = AW: { $subject }
ticket-reply-mail-body = { $author } schrieb zu Ticket #{ $number }:

    { $body }

    Antworten Sie auf diese E-Mail, um zu antworten. Das ganze Ticket: { $link }
ticket-status-mail-subject = Ticket #{ $number } ist jetzt { $status }: { $subject }
ticket-status-mail-body = Ihr Ticket #{ $number } „{ $subject }“ ist jetzt { $status }.

    Falls noch etwas fehlt, antworten Sie einfach auf diese E-Mail. Zum Ticket: { $link }
ticket-status-waiting = in Erwartung Ihrer Antwort
ticket-status-resolved = gelöst
ticket-status-closed = geschlossen
ticket-sla-mail-subject = SLA { $state }: Ticket #{ $number } { $subject }
ticket-sla-mail-body = Das SLA von Ticket #{ $number } „{ $subject }“ ist { $state }.

    Öffnen: { $link }
mail-sla-at_risk = gefährdet
mail-sla-breached = verletzt
mail-no-subject = (kein Betreff)
mail-refusal-subject = Ihre Nachricht an { $tenant } wurde nicht angenommen
mail-refusal-body = Guten Tag,

    der Service Desk { $tenant } nimmt nur Anfragen der Personen und Organisationen an, die er betreut; aus Ihrer Nachricht „{ $subject }“ wurde daher kein Ticket.

    Wenn das ein Irrtum ist, wenden Sie sich bitte auf anderem Weg an Ihren Dienstleister.
mail-close-invalid-title = Dieser Link funktioniert nicht mehr
mail-close-invalid = Der Link ist abgelaufen oder ungültig. Melden Sie sich im Portal an, um Ihr Ticket zu verwalten.
mail-close-title = Ticket #{ $number } schließen
mail-close-intro = Ist Ihr Problem gelöst? Bestätigen Sie, um das Ticket zu schließen. Sie können später trotzdem noch antworten.
mail-close-confirm = Ticket schließen
mail-close-done = Ticket #{ $number } ist geschlossen. Vielen Dank!

# Portal and console ticket pages
skip-to-content = Zum Inhalt springen
nav-main = Hauptnavigation
nav-tickets = Tickets
nav-console = Konsole
nav-kb = Wissensdatenbank
language-label = Sprache
language-save = Ändern
language-unknown = Diese Sprache ist nicht verfügbar.
console-views = Ansichten
console-view-mine = Meine Tickets
console-view-unassigned = Nicht zugewiesen
console-view-sla = SLA gefährdet
console-view-approval = Wartet auf Genehmigung
console-view-all = Alle Tickets
tickets-title = Meine Tickets
tickets-search = Tickets durchsuchen
tickets-search-submit = Suchen
tickets-new = Neues Ticket
tickets-status-tabs = Status
tickets-tab-open = In Bearbeitung
tickets-tab-all = Alle
tickets-count = { $count } Tickets
tickets-col-status = Status
tickets-col-number = Nummer
tickets-col-subject = Betreff
tickets-col-priority = Priorität
tickets-col-sla = SLA
tickets-col-updated = Letzte Änderung
tickets-next-page = Nächste Seite
tickets-none = Hier sind keine Tickets.
status-new = Neu
status-open = Offen
status-waiting = Wartend
status-paused = Pausiert
status-resolved = Gelöst
status-closed = Geschlossen
sla-at-risk = Gefährdet
sla-breached = Verletzt
sla-paused = Pausiert
approval-pending = Wartet auf Genehmigung
approval-approved = Genehmigt
approval-rejected = Abgelehnt
ticket-subject = Betreff
ticket-subject-required = Bitte geben Sie dem Ticket einen Betreff.
ticket-email = E-Mail-Adresse
ticket-email-hint = Antworten gehen an diese Adresse.
ticket-email-invalid = Das ist keine E-Mail-Adresse.
ticket-description = Beschreibung
ticket-priority = Priorität
ticket-type = Art
ticket-type-none = Allgemeine Anfrage
ticket-files = Anhänge
ticket-files-hint = Wählen Sie Dateien, ziehen Sie sie hierher oder fügen Sie einen Screenshot ein.
ticket-submit = Ticket eröffnen
ticket-thread = Verlauf
ticket-internal-note = Interne Notiz
ticket-live-updated = Der Verlauf wurde aktualisiert.
ticket-reply = Antworten
ticket-reply-body = Ihre Nachricht
ticket-reply-submit = Senden
ticket-reply-empty = Bitte schreiben Sie eine Nachricht oder hängen Sie eine Datei an.
ticket-details = Details
ticket-approval = Genehmigung
ticket-requester = Anfragende Person
ticket-assignee = Zugewiesen an
ticket-unassigned = Noch niemand
ticket-created = Eröffnet
ticket-change-status = Status
ticket-change-status-submit = Status ändern
ticket-close = Ticket schließen
ticket-reopen = Ticket wieder öffnen
ticket-take = Mir zuweisen
ticket-cannot-reopen = Tickets dieses Service Desks können nicht wieder geöffnet werden; bitte eröffnen Sie ein neues.
ticket-notice-replied = Ihre Nachricht wurde hinzugefügt.
ticket-notice-status = Das Ticket wurde aktualisiert.
ticket-author-system = Service Desk
form-refused-title = Das konnte nicht gespeichert werden
form-files-again = Bitte hängen Sie Ihre Dateien erneut an.

# Ticket page: rating, approval decision, technician workspace
ticket-notice-rated = Vielen Dank für Ihre Bewertung.
ticket-notice-decided = Ihre Entscheidung wurde gespeichert.
ticket-notice-time = Die Zeit wurde erfasst.
rating-1 = 1 — Sehr schlecht
rating-2 = 2 — Schlecht
rating-3 = 3 — Annehmbar
rating-4 = 4 — Gut
rating-5 = 5 — Ausgezeichnet
ticket-rating = Antwort bewerten
ticket-rating-question = Wie gut wurde Ihr Anliegen bearbeitet?
ticket-rating-comment = Kommentar (optional)
ticket-rating-submit = Bewertung senden
ticket-rating-missing = Bitte wählen Sie eine Bewertung von 1 bis 5.
ticket-decide = Ihre Genehmigung wird benötigt
ticket-decide-help = Diese Anfrage muss genehmigt werden, bevor die Techniker sie bearbeiten können.
ticket-decide-reason = Begründung
ticket-decide-reason-hint = Bei einer Ablehnung erforderlich: Der Anfragende erhält sie.
ticket-approve = Genehmigen
ticket-reject = Ablehnen
ticket-reject-reason-missing = Bitte nennen Sie dem Anfragenden einen Grund für die Ablehnung.
ticket-fields-submit = Priorität und Typ speichern
ticket-time = Aufgewendete Zeit
ticket-time-total = Insgesamt:
ticket-time-add = Zeit erfassen
ticket-time-hours = Stunden
ticket-time-minutes = Minuten
ticket-time-date = Datum
ticket-time-duration = Dauer
ticket-time-billable = Abrechenbar
ticket-time-note = Notiz
ticket-time-submit = Zeit erfassen
ticket-time-invalid = Geben Sie die gearbeiteten Stunden und Minuten als ganze Zahlen ein.
ticket-time-invoiced = abgerechnet
ticket-requester-others = Weitere Tickets des Anfragenden
yes = Ja
no = Nein
duration-minutes = { $minutes } Min.
duration-hours = { $hours } Std.
duration-hours-minutes = { $hours } Std. { $minutes } Min.

# Account settings
nav-settings = Einstellungen
settings-title = Ihre Einstellungen
settings-signed-in-as = Angemeldet als
settings-language-choice = Sprache des Portals und Ihrer E-Mails
settings-password = Passwort
settings-password-help = Mindestens 8 Zeichen mit einem Groß- und einem Kleinbuchstaben und einer Ziffer oder einem Sonderzeichen. Eine Änderung meldet Sie überall ab.
settings-password-current = Aktuelles Passwort
settings-password-new = Neues Passwort
settings-password-again = Neues Passwort wiederholen
settings-password-submit = Passwort ändern
settings-password-wrong = Das aktuelle Passwort ist nicht korrekt.
settings-password-changed-title = Passwort geändert
settings-password-changed = Ihr Passwort wurde geändert und alle Sitzungen wurden beendet. Bitte melden Sie sich erneut an.
settings-security = Anmeldesicherheit
settings-factor = Zweiter Faktor
settings-factor-totp = Authenticator-App
settings-factor-sms = SMS
settings-factor-none = Nicht eingerichtet
settings-phone = Mobilnummer
settings-phone-none = Keine
settings-phone-add = Mobilnummer hinzufügen
settings-phone-change-help = Für eine andere Nummer entfernen Sie diese und fügen die neue hinzu.
settings-phone-remove = Nummer entfernen
settings-phone-removed = Die Mobilnummer wurde entfernt.
settings-phone-is-factor = An diese Nummer gehen Ihre Anmeldecodes; ein Administrator kann Ihren zweiten Faktor zurücksetzen, um sie zu ändern.
settings-sessions-link = Aktive Sitzungen ansehen und beenden

# Console: organization filter and bulk actions
console-organization = Organisation
console-organization-all = Alle Organisationen
console-bulk = Ausgewählte Tickets ändern
console-bulk-action = Aktion
console-bulk-status = Status setzen
console-bulk-priority = Priorität setzen
console-bulk-new-status = Status
console-bulk-new-priority = Priorität
console-bulk-apply = Auf die Auswahl anwenden
console-bulk-select = Auswählen
console-bulk-choose = Wählen Sie 1 bis 100 Tickets aus.
console-bulk-done = { $count } Ticket(s) geändert.
console-bulk-partly = { $count } Ticket(s) geändert; { $failed } konnten nicht geändert werden (Genehmigung ausstehend oder nicht erlaubt).

# Service reports and colleagues' accounts
nav-reports = Berichte
nav-colleagues = Kollegen
report-title = Servicebericht
report-from = Von
report-to = Bis (einschließlich)
report-show = Anzeigen
report-csv = Als CSV herunterladen
report-opened = Eröffnete Tickets
report-resolved = Gelöste Tickets
report-closed = Geschlossene Tickets
report-first-response = Mittlere Zeit bis zur ersten Antwort
report-resolution = Mittlere Zeit bis zur Lösung
report-sla = SLA-Einhaltung
report-ratings = Bewertungen
report-mean-rating = Mittlere Bewertung
report-low-ratings = Schlechte Bewertungen
report-billable = Abrechenbare Zeit
report-non-billable = Nicht abrechenbare Zeit
colleagues-title = Konten für Kollegen
colleagues-help = Beantragen Sie beim Service Desk ein Konto für einen Kollegen Ihrer Organisation. Sie erfahren die Entscheidung; Ihr Kollege erhält eine Einladung.
colleagues-name = Name
colleagues-submit = Konto beantragen
colleagues-requests = Anträge Ihrer Organisation
colleagues-none = Noch keine Anträge.
colleagues-requested = Der Antrag wurde an den Service Desk gesendet.
colleagues-email-invalid = Geben Sie eine gültige E-Mail-Adresse ein.
colleagues-status-pending = Wartet auf den Service Desk
colleagues-status-approved = Genehmigt
colleagues-status-rejected = Abgelehnt

# Time zone
settings-time-zone = Zeitzone
settings-time-zone-help = Zeiten werden auf allen Seiten in dieser Zone angezeigt. Jetzt ist es
settings-time-zone-choice = Ihre Zeitzone
settings-time-zone-default = Die Vorgabe der Organisation
settings-time-zone-save = Zeitzone speichern
settings-time-zone-saved = Zeitzone gespeichert.
settings-time-zone-unknown = Diese Zeitzone kennen wir nicht.
ticket-canned = Textbaustein
ticket-canned-insert = Einfügen

# Plugin views (/apps)
nav-apps = Apps
apps-title = Apps
apps-none = Für Sie sind noch keine Apps verfügbar.
apps-unavailable = Diese App ist ausgelastet oder pausiert. Bitte versuchen Sie es gleich noch einmal.
apps-failed = Diese App konnte nicht antworten. Bitte versuchen Sie es später noch einmal.
apps-assistant = Assistent
apps-you = Sie
