portal-title = Assistenza { $tenant }
portal-welcome = Benvenuto nel portale di assistenza { $tenant }: apri e segui i tuoi ticket, consulta la knowledge base e gestisci i tuoi dispositivi.
operator-title = Console operatore Portico
operator-welcome = Accedi con il link di configurazione mostrato all'avvio di Portico.
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
