portal-title = Assistenza { $tenant }
portal-welcome = Benvenuto nel portale di assistenza { $tenant }: apri e segui i tuoi ticket, consulta la knowledge base e gestisci i tuoi dispositivi.
operator-title = Console operatore Portico
operator-welcome = Accedi per gestire i tenant di questa installazione. Il primo amministratore usa il link di configurazione mostrato all'avvio di Portico.
not-found-title = Pagina non trovata
not-found-body = A questo indirizzo non c'è nulla.
suspended-title = { $tenant } non è disponibile
suspended-body = Questo portale di assistenza è temporaneamente non disponibile. Riprova più tardi o contatta telefonicamente il tuo fornitore IT.
error-not-found = Non trovato.
error-unauthorized = È richiesta l'autenticazione.
error-forbidden = Non hai il permesso di farlo.
error-invalid-input = I dati inseriti non sono validi.
error-conflict = Esiste già.
error-unavailable = Il servizio è temporaneamente non disponibile.
error-timeout = La richiesta ha impiegato troppo tempo.
error-payload-too-large = La richiesta è troppo grande.
error-internal = Si è verificato un errore da parte nostra. È stato registrato.
invitation-subject = Il tuo account sul portale di assistenza { $tenant }
invitation-body = Buongiorno,

    è stato creato un account per te sul portale di assistenza { $tenant }.

    Indirizzo: { $portal }
    Nome utente: { $email }

    Scegli qui la password e il secondo fattore (il link funziona una sola volta e scade dopo 72 ore):
    { $link }
login-title = Accedi
login-email = Indirizzo e-mail
login-password = Password
login-submit = Accedi
login-failed = L'indirizzo e-mail o la password non sono corretti.
second-factor-title = Inserisci il codice
second-factor-help = Apri l'app di autenticazione e inserisci il codice a 6 cifre che mostra, oppure uno dei tuoi codici di recupero.
second-factor-code = Codice
second-factor-submit = Continua
second-factor-failed = Questo codice non è valido. Ogni codice funziona una sola volta.
enrol-title = Configura l'app di autenticazione
enrol-help = Inquadra il codice QR con un'app di autenticazione (ad esempio Microsoft Authenticator, Google Authenticator o 2FAS), poi inserisci il codice a 6 cifre che mostra.
enrol-manual = Oppure inserisci questa chiave a mano:
recovery-title = I tuoi codici di recupero
recovery-help = Conserva questi codici in un luogo sicuro. Ognuno permette un accesso se perdi il telefono. Vengono mostrati solo questa volta.
continue = Continua
invite-title = Benvenuto in { $tenant }
invite-help = Scegli una password: almeno 8 caratteri, con lettere maiuscole e minuscole e un numero o un simbolo.
invite-password-again = Ripeti la password
invite-submit = Salva la password
invite-invalid-title = Link non più valido
invite-invalid = Questo link è già stato usato o è scaduto. Chiedi un nuovo invito al tuo fornitore IT.
invite-email-invalid = Inserisci un indirizzo e-mail valido.
invite-email-taken = Esiste già un account con questo indirizzo e-mail.
password-too-short = La password deve avere almeno 8 caratteri.
password-too-long = La password può avere al massimo 128 caratteri.
password-too-simple = La password deve contenere una lettera maiuscola, una minuscola e un numero o un simbolo.
password-too-common = Questa password è troppo comune o troppo simile al tuo indirizzo e-mail.
password-mismatch = Le due password non coincidono.
signed-in-as = Accesso effettuato come { $email }
logout = Esci
nav-sessions = Sessioni
nav-home = Torna al portale
sessions-title = Le tue sessioni
sessions-current = Questa sessione
sessions-end = Termina
sessions-started = Iniziata
sessions-last-seen = Ultima attività
maintenance-title = { $tenant } è in aggiornamento
maintenance-body = Questo portale di assistenza è in aggiornamento e tornerà disponibile tra pochi minuti.
rate-limited-title = Troppi tentativi
rate-limited-body = Troppi tentativi. Attendi { $minutes } minuto/i e riprova.
stepup-title = Conferma che sei tu
stepup-help-new = Questa azione richiede un codice inviato al tuo cellulare. Inserisci il numero in formato internazionale: viene salvato quando il codice lo conferma.
stepup-help-known = Questa azione richiede un codice inviato al tuo cellulare { $phone }.
stepup-phone = Numero di cellulare
stepup-send = Invia il codice
stepup-code-help = Inserisci il codice a 6 cifre ricevuto via SMS. È valido per 5 minuti.
stepup-phone-invalid = Inserisci il numero in formato internazionale, ad esempio +39 333 123 4567.
stepup-send-failed = Non è stato possibile inviare l'SMS. Riprova più tardi.
stepup-code-unusable = Questo codice è scaduto o è stato provato troppe volte. Richiedine uno nuovo.
stepup-sms = Il tuo codice { $tenant } è { $code }. Scade tra 5 minuti. Non condividerlo mai.
login-sso-heading = Accedi con l'account della tua organizzazione
login-sso-submit = Continua
sso-not-available = L'accesso unico non è configurato per questo dominio. Accedi con la password.
sso-failed = L'accesso unico non è riuscito. Riprova o rivolgiti al tuo fornitore IT.
reset-link = Password dimenticata?
reset-title = Reimposta la password
reset-help = Inserisci l'indirizzo e-mail del tuo account. Ti inviamo un link per scegliere una nuova password; per accedere servirà comunque il secondo fattore.
reset-submit = Invia il link
reset-sent = Se esiste un account per questo indirizzo, il link è in arrivo. È valido per un'ora.
reset-new-title = Scegli una nuova password
password-reset-subject = Reimposta la password di { $tenant }
password-reset-body = Buongiorno,

    qualcuno ha chiesto di reimpostare la password di { $email } sul portale di assistenza { $tenant }. Se sei stato tu, scegli qui una nuova password (il link funziona una sola volta e scade dopo un'ora):
    { $link }

    Se non sei stato tu, ignora questo messaggio: la password resta invariata.
enrol-sms-heading = Oppure usa gli SMS
sms-code-sent = Abbiamo inviato un codice a 6 cifre al { $phone }. È valido per 5 minuti.
second-factor-sms-send = Invia un codice al { $phone }
operator-setup-title = Configura il tuo account di operatore
operator-setup-invalid = Questo link di configurazione è già stato usato o è scaduto. Chiedine uno nuovo a un altro amministratore della piattaforma, oppure crealo con «portico admin create».
operator-tenants = Tenant
operator-tenant-slug = Indirizzo
operator-tenant-name = Nome
operator-tenant-status = Stato
operator-status-active = Attivo
operator-status-suspended = Sospeso
operator-status-other = In preparazione
domain-verified-subject = { $host } è verificato
domain-verified-body = Salve,

    i record DNS di { $host } sono presenti: il dominio è verificato e ora serve il vostro portale. Il suo certificato TLS viene emesso e rinnovato automaticamente.
domain-grace-subject = Intervento necessario: mancano i record DNS di { $host }
domain-grace-body = Salve,

    l’ultimo controllo di { $host } ha trovato un problema:

    { $problems }

    Per ora il dominio continua a funzionare. Se i record non vengono ripristinati, sarà disattivato alla fine del periodo di tolleranza: non servirà più il vostro portale e il suo certificato non sarà più rinnovato.
domain-disabled-subject = { $host } è stato disattivato
domain-disabled-body = Salve,

    i record DNS di { $host } sono rimasti assenti per tutto il periodo di tolleranza, quindi il dominio è stato disattivato: non serve più il vostro portale.

    { $problems }

    Ripristinate i record e il dominio sarà di nuovo verificato al prossimo controllo.
domain-recovered-subject = I record DNS di { $host } sono tornati
domain-recovered-body = Salve,

    i record DNS di { $host } sono di nuovo presenti: non serve altro.
approval-title = Approvazione del ticket n. { $number }
approval-intro = Le viene chiesto di approvare questa richiesta. Nulla cambia finché non sceglie qui sotto.
approval-reason = Motivo (obbligatorio per rifiutare; il richiedente lo leggerà)
approval-approve = Approva
approval-reject = Rifiuta
approval-done-approved = Grazie: ha approvato il ticket n. { $number }.
approval-done-rejected = Grazie: ha rifiutato il ticket n. { $number }. Il richiedente ne conoscerà il motivo.
approval-link-invalid-title = Link non più valido
approval-link-invalid = Questo link di approvazione è scaduto o è già stato usato. Acceda al portale per vedere la richiesta.
approval-mail-subject = [{ $tenant }] Approvazione richiesta per il ticket n. { $number }: { $subject }
approval-mail-body = Una richiesta attende la sua approvazione:

    n. { $number } { $subject }

    Apra questo link per leggerla e approvarla o rifiutarla (il link funziona una volta, per 7 giorni):
    { $link }
approval-rejected-subject = [{ $tenant }] Il ticket n. { $number } non è stato approvato
approval-rejected-body = La sua richiesta n. { $number } «{ $subject }» non è stata approvata.

    Motivo: { $reason }
rating-low-subject = Il ticket n. { $number } ha ricevuto { $rating } su 5
rating-low-body = Il richiedente ha valutato la risposta al ticket n. { $number } con { $rating } su 5.

    { $comment }
priority-critical = Critica
priority-critical-help = Un disservizio globale che coinvolge più utenti, oppure un problema di sicurezza.
priority-high = Alta
priority-high-help = Un utente è bloccato e non può lavorare.
priority-medium = Media
priority-medium-help = Urgente, ma nel frattempo si può continuare a lavorare.
priority-low = Bassa
priority-low-help = Non urgente.

# The API reference page at /api/docs.
api-docs-title = Riferimento dell’API
api-docs-intro = Tutte le operazioni dell’API del tenant. La descrizione leggibile dalle macchine:
api-docs-parameters = Parametri
api-docs-request = Corpo della richiesta
api-docs-responses = Risposte
api-docs-required = obbligatorio
escalation-mail-subject = Ticket n. { $number } scalato al livello { $level }: { $subject }
escalation-mail-body = Il ticket n. { $number } ({ $subject }) è passato al livello di supporto { $level } perché { $reason ->
        [breached] il suo SLA è stato violato
       *[at_risk] il suo SLA è a rischio
    }. Per favore, prendetelo in carico.

kb-title = Base di conoscenza
kb-search-label = Cerca nella base di conoscenza
kb-search-button = Cerca
kb-results = Articoli trovati: { $count }
kb-no-results = Nessun risultato. Provi altre parole o apra un ticket.
kb-empty = Ancora nessun articolo.
kb-back = Tutti gli articoli
kb-other-languages = Anche in

## E-mail channel
mail-reply-above = Scrivi la tua risposta sopra questa riga
mail-close-label = Problema risolto? Chiudi il ticket
mail-footer = Questo messaggio è stato inviato dal service desk { $tenant }. Rispondi a questa e-mail per aggiungere note al ticket; non modificare l’oggetto e non cancellare lo storico.
ticket-created-mail-subject = Ticket n. { $number } ricevuto: { $subject }
ticket-created-mail-body = Buongiorno,

    abbiamo ricevuto la tua richiesta e aperto il ticket n. { $number }:

    { $description }

    Rispondi a questa e-mail per aggiungere informazioni. Segui il ticket qui: { $link }
ticket-reply-mail-subject = R: { $subject }
ticket-reply-mail-body = { $author } ha scritto sul ticket n. { $number }:

    { $body }

    Rispondi a questa e-mail per rispondere. Il ticket completo: { $link }
ticket-status-mail-subject = Ticket n. { $number }: { $status } – { $subject }
ticket-status-mail-body = Il tuo ticket n. { $number } «{ $subject }» ora è: { $status }.

    Se manca ancora qualcosa, rispondi semplicemente a questa e-mail. Il ticket: { $link }
ticket-status-waiting = in attesa di una tua risposta
ticket-status-resolved = risolto
ticket-status-closed = chiuso
ticket-sla-mail-subject = SLA { $state }: ticket n. { $number } { $subject }
ticket-sla-mail-body = Lo SLA del ticket n. { $number } «{ $subject }» è { $state }.

    Aprilo: { $link }
mail-sla-at_risk = a rischio
mail-sla-breached = violato
mail-no-subject = (senza oggetto)
mail-refusal-subject = Il tuo messaggio a { $tenant } non è stato accettato
mail-refusal-body = Buongiorno,

    il service desk { $tenant } accetta solo richieste dalle persone e dalle organizzazioni che assiste, perciò dal tuo messaggio «{ $subject }» non è stato aperto alcun ticket.

    Se pensi che sia un errore, contatta il tuo fornitore per un’altra via.
mail-close-invalid-title = Questo link non funziona più
mail-close-invalid = Il link è scaduto o non è valido. Accedi al portale per gestire il ticket.
mail-close-title = Chiudi il ticket n. { $number }
mail-close-intro = Il problema è risolto? Conferma per chiudere il ticket. Potrai comunque rispondere più tardi.
mail-close-confirm = Chiudi il ticket
mail-close-done = Il ticket n. { $number } è chiuso. Grazie!

# Portal and console ticket pages
skip-to-content = Vai al contenuto
nav-main = Principale
nav-tickets = Ticket
nav-console = Console
nav-kb = Knowledge base
language-label = Lingua
language-save = Cambia
language-unknown = Questa lingua non è disponibile.
console-views = Viste
console-view-mine = I miei ticket
console-view-unassigned = Non assegnati
console-view-sla = SLA a rischio
console-view-approval = In attesa di approvazione
console-view-all = Tutti i ticket
tickets-title = I miei ticket
tickets-search = Cerca nei ticket
tickets-search-submit = Cerca
tickets-new = Nuovo ticket
tickets-status-tabs = Stato
tickets-tab-open = In corso
tickets-tab-all = Tutti
tickets-count = { $count } ticket
tickets-col-status = Stato
tickets-col-number = Numero
tickets-col-subject = Oggetto
tickets-col-priority = Priorità
tickets-col-sla = SLA
tickets-col-updated = Ultimo aggiornamento
tickets-next-page = Pagina successiva
tickets-none = Nessun ticket qui.
status-new = Nuovo
status-open = Aperto
status-waiting = In attesa
status-paused = In pausa
status-resolved = Risolto
status-closed = Chiuso
sla-at-risk = A rischio
sla-breached = Violato
sla-paused = In pausa
approval-pending = In attesa di approvazione
approval-approved = Approvato
approval-rejected = Rifiutato
ticket-subject = Oggetto
ticket-subject-required = Indica un oggetto per il ticket.
ticket-email = Indirizzo e-mail
ticket-email-hint = Le risposte arrivano a questo indirizzo.
ticket-email-invalid = Non è un indirizzo e-mail.
ticket-description = Descrizione
ticket-priority = Priorità
ticket-type = Tipo
ticket-type-none = Richiesta generica
ticket-files = Allegati
ticket-files-hint = Scegli i file, trascinali qui o incolla uno screenshot.
ticket-submit = Apri il ticket
ticket-thread = Conversazione
ticket-internal-note = Nota interna
ticket-live-updated = La conversazione è stata aggiornata.
ticket-reply = Rispondi
ticket-reply-body = Il tuo messaggio
ticket-reply-submit = Invia
ticket-reply-empty = Scrivi un messaggio o allega un file.
ticket-details = Dettagli
ticket-approval = Approvazione
ticket-requester = Richiedente
ticket-assignee = Assegnato a
ticket-unassigned = Ancora nessuno
ticket-created = Aperto il
ticket-change-status = Stato
ticket-change-status-submit = Cambia stato
ticket-close = Chiudi il ticket
ticket-reopen = Riapri il ticket
ticket-take = Assegna a me
ticket-cannot-reopen = I ticket di questo service desk non si possono riaprire; aprine uno nuovo.
ticket-notice-replied = Il tuo messaggio è stato aggiunto.
ticket-notice-status = Il ticket è stato aggiornato.
ticket-author-system = Service desk
form-refused-title = Impossibile salvare
form-files-again = Allega di nuovo i tuoi file.

# Ticket page: rating, approval decision, technician workspace
ticket-notice-rated = Grazie per la valutazione.
ticket-notice-decided = La sua decisione è stata registrata.
ticket-notice-time = Il tempo è stato registrato.
rating-1 = 1 — Pessima
rating-2 = 2 — Scarsa
rating-3 = 3 — Accettabile
rating-4 = 4 — Buona
rating-5 = 5 — Ottima
ticket-rating = Valuta la risposta
ticket-rating-question = Come è stata gestita la sua richiesta?
ticket-rating-comment = Commento (facoltativo)
ticket-rating-submit = Invia la valutazione
ticket-rating-missing = Scelga una valutazione da 1 a 5.
ticket-decide = È richiesta la sua approvazione
ticket-decide-help = Questa richiesta deve essere approvata prima che i tecnici possano lavorarci.
ticket-decide-reason = Motivo
ticket-decide-reason-hint = Obbligatorio in caso di rifiuto: il richiedente lo riceverà.
ticket-approve = Approva
ticket-reject = Rifiuta
ticket-reject-reason-missing = Indichi al richiedente il motivo del rifiuto.
ticket-fields-submit = Salva priorità e tipo
ticket-time = Tempo impiegato
ticket-time-total = In tutto:
ticket-time-add = Registra il tempo
ticket-time-hours = Ore
ticket-time-minutes = Minuti
ticket-time-date = Data
ticket-time-duration = Durata
ticket-time-billable = Fatturabile
ticket-time-note = Nota
ticket-time-submit = Registra il tempo
ticket-time-invalid = Indichi le ore e i minuti lavorati con numeri interi.
ticket-time-invoiced = fatturato
ticket-requester-others = Altri ticket del richiedente
yes = Sì
no = No
duration-minutes = { $minutes } min
duration-hours = { $hours } h
duration-hours-minutes = { $hours } h { $minutes } min

# Account settings
nav-settings = Impostazioni
settings-title = Le sue impostazioni
settings-signed-in-as = Accesso effettuato come
settings-language-choice = Lingua del portale e delle sue e-mail
settings-password = Password
settings-password-help = Almeno 8 caratteri con una maiuscola, una minuscola e una cifra o un simbolo. Cambiarla chiude tutte le sessioni.
settings-password-current = Password attuale
settings-password-new = Nuova password
settings-password-again = Ripeta la nuova password
settings-password-submit = Cambia la password
settings-password-wrong = La password attuale non è corretta.
settings-password-changed-title = Password cambiata
settings-password-changed = La password è stata cambiata e tutte le sessioni sono state chiuse. Acceda di nuovo.
settings-security = Sicurezza dell'accesso
settings-factor = Secondo fattore
settings-factor-totp = App di autenticazione
settings-factor-sms = SMS
settings-factor-none = Non configurato
settings-phone = Numero di cellulare
settings-phone-none = Nessuno
settings-phone-add = Aggiungi un numero di cellulare
settings-phone-change-help = Per usare un altro numero, rimuova questo e aggiunga il nuovo.
settings-phone-remove = Rimuovi il numero
settings-phone-removed = Il numero di cellulare è stato rimosso.
settings-phone-is-factor = Questo numero riceve i codici di accesso; un amministratore può reimpostare il secondo fattore per cambiarlo.
settings-sessions-link = Vedi e chiudi le sessioni attive

# Console: organization filter and bulk actions
console-organization = Organizzazione
console-organization-all = Tutte le organizzazioni
console-bulk = Modifica i ticket selezionati
console-bulk-action = Azione
console-bulk-status = Imposta lo stato
console-bulk-priority = Imposta la priorità
console-bulk-new-status = Stato
console-bulk-new-priority = Priorità
console-bulk-apply = Applica alla selezione
console-bulk-select = Seleziona
console-bulk-choose = Selezioni da 1 a 100 ticket.
console-bulk-done = { $count } ticket modificati.
console-bulk-partly = { $count } ticket modificati; { $failed } non è stato possibile modificarli (in attesa di approvazione o non consentito).

# Service reports and colleagues' accounts
nav-reports = Report
nav-colleagues = Colleghi
report-title = Report del servizio
report-from = Dal
report-to = Al (incluso)
report-show = Mostra
report-csv = Scarica in CSV
report-opened = Ticket aperti
report-resolved = Ticket risolti
report-closed = Ticket chiusi
report-first-response = Tempo medio di prima risposta
report-resolution = Tempo medio di risoluzione
report-sla = Rispetto degli SLA
report-ratings = Valutazioni
report-mean-rating = Valutazione media
report-low-ratings = Valutazioni basse
report-billable = Tempo fatturabile
report-non-billable = Tempo non fatturabile
colleagues-title = Account per i colleghi
colleagues-help = Chieda all'assistenza un account per un collega della sua organizzazione. Sarà informato della decisione; il collega riceverà un invito.
colleagues-name = Nome
colleagues-submit = Richiedi l'account
colleagues-requests = Richieste della sua organizzazione
colleagues-none = Ancora nessuna richiesta.
colleagues-requested = La richiesta è stata inviata all'assistenza.
colleagues-email-invalid = Inserisca un indirizzo e-mail valido.
colleagues-status-pending = In attesa dell'assistenza
colleagues-status-approved = Approvata
colleagues-status-rejected = Rifiutata

# Time zone
settings-time-zone = Fuso orario
settings-time-zone-help = Gli orari di ogni pagina sono mostrati in questo fuso. Ora sono le
settings-time-zone-choice = Il suo fuso orario
settings-time-zone-default = Quello predefinito dell'organizzazione
settings-time-zone-save = Salva fuso orario
settings-time-zone-saved = Fuso orario salvato.
settings-time-zone-unknown = Questo fuso orario non esiste.
ticket-canned = Risposta predefinita
ticket-canned-insert = Inserisci

# Plugin views (/apps)
nav-apps = App
apps-title = App
apps-none = Non ci sono ancora app disponibili per te.
apps-unavailable = Questa app è occupata o in pausa. Riprova tra un momento.
apps-failed = Questa app non ha potuto rispondere. Riprova più tardi.
apps-assistant = Assistente
apps-you = Tu
