portal-title = { $tenant } Servicedesk
portal-welcome = Willkommen beim { $tenant } Servicedesk: Tickets eröffnen und verfolgen, die Wissensdatenbank lesen und Ihre Geräte verwalten.
operator-title = Portico Betreiberkonsole
operator-welcome = Melden Sie sich mit dem Einrichtungslink an, den Portico beim Start ausgegeben hat.
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
