portal-title = Centre de services { $tenant }
portal-welcome = Bienvenue au centre de services { $tenant } : ouvrez et suivez vos tickets, consultez la base de connaissances et gérez vos appareils.
operator-title = Console d'exploitation Portico
operator-welcome = Connectez-vous pour gérer les locataires de cette installation. Le premier administrateur utilise le lien de configuration affiché au démarrage de Portico.
not-found-title = Page introuvable
not-found-body = Il n'y a rien à cette adresse.
suspended-title = { $tenant } est indisponible
suspended-body = Ce centre de services est temporairement indisponible. Veuillez réessayer plus tard ou contacter votre prestataire informatique par téléphone.
error-not-found = Introuvable.
error-unauthorized = Une authentification est requise.
error-forbidden = Vous n'êtes pas autorisé à faire ceci.
error-invalid-input = La saisie n'est pas valide.
error-conflict = Cet élément existe déjà.
error-unavailable = Le service est temporairement indisponible.
error-timeout = La requête a pris trop de temps.
error-payload-too-large = La requête est trop volumineuse.
error-internal = Une erreur s'est produite de notre côté. Elle a été enregistrée.
invitation-subject = Votre compte au centre de services { $tenant }
invitation-body = Bonjour,

    un compte a été créé pour vous au centre de services { $tenant }.

    Adresse : { $portal }
    Nom d'utilisateur : { $email }

    Choisissez votre mot de passe et votre second facteur ici (le lien ne fonctionne qu'une fois et expire dans 72 heures) :
    { $link }
login-title = Connexion
login-email = Adresse e-mail
login-password = Mot de passe
login-submit = Se connecter
login-failed = L'adresse e-mail ou le mot de passe n'est pas correct.
second-factor-title = Saisissez votre code
second-factor-help = Ouvrez votre application d'authentification et saisissez le code à 6 chiffres affiché, ou l'un de vos codes de récupération.
second-factor-code = Code
second-factor-submit = Continuer
second-factor-failed = Ce code n'est pas valide. Chaque code ne fonctionne qu'une fois.
enrol-title = Configurez votre application d'authentification
enrol-help = Scannez le code QR avec une application d'authentification (par exemple Microsoft Authenticator, Google Authenticator ou 2FAS), puis saisissez le code à 6 chiffres affiché.
enrol-manual = Ou saisissez cette clé à la main :
recovery-title = Vos codes de récupération
recovery-help = Conservez ces codes en lieu sûr. Chacun permet une connexion si vous perdez votre téléphone. Ils ne sont affichés qu'une seule fois.
continue = Continuer
invite-title = Bienvenue chez { $tenant }
invite-help = Choisissez un mot de passe : au moins 8 caractères, avec des majuscules, des minuscules et un chiffre ou un symbole.
invite-password-again = Répétez le mot de passe
invite-submit = Enregistrer le mot de passe
invite-invalid-title = Lien expiré
invite-invalid = Ce lien a déjà été utilisé ou a expiré. Demandez une nouvelle invitation à votre prestataire informatique.
invite-email-invalid = Saisissez une adresse e-mail valide.
invite-email-taken = Un compte existe déjà pour cette adresse e-mail.
password-too-short = Le mot de passe doit comporter au moins 8 caractères.
password-too-long = Le mot de passe peut comporter au plus 128 caractères.
password-too-simple = Le mot de passe doit contenir une majuscule, une minuscule et un chiffre ou un symbole.
password-too-common = Ce mot de passe est trop courant ou trop proche de votre adresse e-mail.
password-mismatch = Les deux mots de passe ne sont pas identiques.
signed-in-as = Connecté en tant que { $email }
logout = Se déconnecter
nav-sessions = Sessions
nav-home = Retour au portail
sessions-title = Vos sessions
sessions-current = Cette session
sessions-end = Terminer
sessions-started = Ouverte le
sessions-last-seen = Dernière activité
maintenance-title = { $tenant } est en cours de mise à jour
maintenance-body = Ce centre de services est en cours de mise à jour et sera de retour dans quelques minutes.
rate-limited-title = Trop de tentatives
rate-limited-body = Trop de tentatives. Veuillez patienter { $minutes } minute(s) avant de réessayer.
stepup-title = Confirmez votre identité
stepup-help-new = Cette action demande un code envoyé sur votre téléphone mobile. Saisissez votre numéro au format international ; il est enregistré une fois confirmé par le code.
stepup-help-known = Cette action demande un code envoyé sur votre téléphone mobile { $phone }.
stepup-phone = Numéro de mobile
stepup-send = Envoyer le code
stepup-code-help = Saisissez le code à 6 chiffres reçu par SMS. Il est valable 5 minutes.
stepup-phone-invalid = Saisissez le numéro au format international, par exemple +33 6 12 34 56 78.
stepup-send-failed = Le SMS n'a pas pu être envoyé. Veuillez réessayer plus tard.
stepup-code-unusable = Ce code a expiré ou a été essayé trop souvent. Demandez-en un nouveau.
stepup-sms = Votre code { $tenant } est { $code }. Il expire dans 5 minutes. Ne le communiquez jamais.
login-sso-heading = Se connecter avec le compte de votre organisation
login-sso-submit = Continuer
sso-not-available = L'authentification unique n'est pas configurée pour ce domaine. Connectez-vous avec votre mot de passe.
sso-failed = L'authentification unique a échoué. Réessayez ou contactez votre prestataire informatique.
reset-link = Mot de passe oublié ?
reset-title = Réinitialiser votre mot de passe
reset-help = Saisissez l'adresse e-mail de votre compte. Nous vous envoyons un lien pour choisir un nouveau mot de passe ; votre second facteur reste nécessaire pour vous connecter.
reset-submit = Envoyer le lien
reset-sent = Si un compte existe pour cette adresse, un lien est en route. Il est valable une heure.
reset-new-title = Choisissez un nouveau mot de passe
password-reset-subject = Réinitialisation de votre mot de passe { $tenant }
password-reset-body = Bonjour,

    quelqu'un a demandé la réinitialisation du mot de passe de { $email } au centre de services { $tenant }. Si c'est vous, choisissez un nouveau mot de passe ici (le lien ne fonctionne qu'une fois et expire dans une heure) :
    { $link }

    Sinon, ignorez ce message : votre mot de passe reste inchangé.
enrol-sms-heading = Ou utilisez les SMS
sms-code-sent = Nous avons envoyé un code à 6 chiffres au { $phone }. Il est valable 5 minutes.
second-factor-sms-send = Envoyer un code au { $phone }
operator-setup-title = Configurez votre compte d'opérateur
operator-setup-invalid = Ce lien de configuration a déjà été utilisé ou a expiré. Demandez-en un nouveau à un autre administrateur de la plateforme, ou créez-le avec « portico admin create ».
operator-tenants = Locataires
operator-tenant-slug = Adresse
operator-tenant-name = Nom
operator-tenant-status = État
operator-status-active = Actif
operator-status-suspended = Suspendu
operator-status-other = En préparation
domain-verified-subject = { $host } est vérifié
domain-verified-body = Bonjour,

    les enregistrements DNS de { $host } sont en place : le domaine est vérifié et sert désormais votre portail. Son certificat TLS est émis et renouvelé automatiquement.
domain-grace-subject = Action requise : les enregistrements DNS de { $host } sont absents
domain-grace-body = Bonjour,

    la dernière vérification de { $host } a trouvé un problème :

    { $problems }

    Le domaine fonctionne encore pour le moment. Si les enregistrements ne sont pas rétablis, il sera désactivé à la fin du délai de grâce : il ne servira plus votre portail et son certificat ne sera plus renouvelé.
domain-disabled-subject = { $host } a été désactivé
domain-disabled-body = Bonjour,

    les enregistrements DNS de { $host } sont restés absents pendant tout le délai de grâce : le domaine a été désactivé et ne sert plus votre portail.

    { $problems }

    Rétablissez les enregistrements et le domaine sera de nouveau vérifié lors de la prochaine vérification.
domain-recovered-subject = Les enregistrements DNS de { $host } sont de retour
domain-recovered-body = Bonjour,

    les enregistrements DNS de { $host } sont de nouveau en place : rien d’autre n’est nécessaire.
approval-title = Approbation du ticket n° { $number }
approval-intro = Votre approbation est demandée pour cette requête. Rien ne change tant que vous n'avez pas choisi ci-dessous.
approval-reason = Motif (obligatoire pour refuser ; le demandeur le lira)
approval-approve = Approuver
approval-reject = Refuser
approval-done-approved = Merci : vous avez approuvé le ticket n° { $number }.
approval-done-rejected = Merci : vous avez refusé le ticket n° { $number }. Le demandeur en sera informé avec le motif.
approval-link-invalid-title = Lien expiré
approval-link-invalid = Ce lien d'approbation a expiré ou a déjà été utilisé. Connectez-vous au portail pour voir la requête.
approval-mail-subject = [{ $tenant }] Approbation demandée pour le ticket n° { $number } : { $subject }
approval-mail-body = Une requête attend votre approbation :

    n° { $number } { $subject }

    Ouvrez ce lien pour la lire et l'approuver ou la refuser (le lien fonctionne une fois, pendant 7 jours) :
    { $link }
approval-rejected-subject = [{ $tenant }] Le ticket n° { $number } n'a pas été approuvé
approval-rejected-body = Votre requête n° { $number } « { $subject } » n'a pas été approuvée.

    Motif : { $reason }
rating-low-subject = Le ticket n° { $number } a reçu la note { $rating } sur 5
rating-low-body = Le demandeur a noté la réponse au ticket n° { $number } { $rating } sur 5.

    { $comment }
priority-critical = Critique
priority-critical-help = Une panne générale qui touche plusieurs utilisateurs, ou un problème de sécurité.
priority-high = Haute
priority-high-help = Un utilisateur est bloqué et ne peut pas travailler.
priority-medium = Moyenne
priority-medium-help = Urgent, mais le travail peut continuer en attendant.
priority-low = Basse
priority-low-help = Pas urgent.

# The API reference page at /api/docs.
api-docs-title = Référence de l’API
api-docs-intro = Toutes les opérations de l’API du locataire. La description lisible par machine :
api-docs-parameters = Paramètres
api-docs-request = Corps de la requête
api-docs-responses = Réponses
api-docs-required = obligatoire
escalation-mail-subject = Ticket n° { $number } escaladé au niveau { $level } : { $subject }
escalation-mail-body = Le ticket n° { $number } ({ $subject }) est passé au niveau de support { $level } car { $reason ->
        [breached] son SLA n'a pas été respecté
       *[at_risk] son SLA est menacé
    }. Merci de le prendre en charge.

kb-title = Base de connaissances
kb-search-label = Rechercher dans la base de connaissances
kb-search-button = Rechercher
kb-results = Articles trouvés : { $count }
kb-no-results = Aucun résultat. Essayez d'autres mots ou ouvrez un ticket.
kb-empty = Aucun article pour l'instant.
kb-back = Tous les articles
kb-other-languages = Aussi en

## E-mail channel
mail-reply-above = Veuillez écrire votre réponse au-dessus de cette ligne
mail-close-label = Problème résolu ? Fermer le ticket
mail-footer = Ce message a été envoyé par le service d’assistance { $tenant }. Répondez à cet e-mail pour compléter votre ticket ; merci de ne pas modifier l’objet.
ticket-created-mail-subject = Ticket n° { $number } reçu : { $subject }
ticket-created-mail-body = Bonjour,

    nous avons bien reçu votre demande et ouvert le ticket n° { $number } :

    { $description }

    Répondez à cet e-mail pour ajouter des informations. Suivre le ticket : { $link }
ticket-reply-mail-subject = Re : { $subject }
ticket-reply-mail-body = { $author } a écrit sur le ticket n° { $number } :

    { $body }

    Répondez à cet e-mail pour lui répondre. Le ticket complet : { $link }
ticket-status-mail-subject = Ticket n° { $number } : { $status } – { $subject }
ticket-status-mail-body = Votre ticket n° { $number } « { $subject } » est maintenant : { $status }.

    S’il manque encore quelque chose, répondez simplement à cet e-mail. Le ticket : { $link }
ticket-status-waiting = en attente de votre réponse
ticket-status-resolved = résolu
ticket-status-closed = fermé
ticket-sla-mail-subject = SLA { $state } : ticket n° { $number } { $subject }
ticket-sla-mail-body = Le SLA du ticket n° { $number } « { $subject } » est { $state }.

    L’ouvrir : { $link }
mail-sla-at_risk = menacé
mail-sla-breached = dépassé
mail-no-subject = (sans objet)
mail-refusal-subject = Votre message à { $tenant } n’a pas été accepté
mail-refusal-body = Bonjour,

    le service d’assistance { $tenant } n’accepte que les demandes des personnes et organisations qu’il sert ; votre message « { $subject } » n’a donc pas donné lieu à un ticket.

    S’il s’agit d’une erreur, contactez votre prestataire par un autre moyen.
mail-close-invalid-title = Ce lien ne fonctionne plus
mail-close-invalid = Le lien a expiré ou n’est pas valide. Connectez-vous au portail pour gérer votre ticket.
mail-close-title = Fermer le ticket n° { $number }
mail-close-intro = Votre problème est-il résolu ? Confirmez pour fermer le ticket. Vous pourrez encore y répondre plus tard.
mail-close-confirm = Fermer le ticket
mail-close-done = Le ticket n° { $number } est fermé. Merci !

# Portal and console ticket pages
skip-to-content = Aller au contenu
nav-main = Principal
nav-tickets = Tickets
nav-console = Console
nav-kb = Base de connaissances
language-label = Langue
language-save = Changer
language-unknown = Cette langue n'est pas disponible.
console-views = Vues
console-view-mine = Mes tickets
console-view-unassigned = Non attribués
console-view-sla = SLA en danger
console-view-approval = En attente d'approbation
console-view-all = Tous les tickets
tickets-title = Mes tickets
tickets-search = Rechercher des tickets
tickets-search-submit = Rechercher
tickets-new = Nouveau ticket
tickets-status-tabs = Statut
tickets-tab-open = En cours
tickets-tab-all = Tous
tickets-count = { $count } tickets
tickets-col-status = Statut
tickets-col-number = Numéro
tickets-col-subject = Objet
tickets-col-priority = Priorité
tickets-col-sla = SLA
tickets-col-updated = Dernière mise à jour
tickets-next-page = Page suivante
tickets-none = Aucun ticket ici.
status-new = Nouveau
status-open = Ouvert
status-waiting = En attente
status-paused = En pause
status-resolved = Résolu
status-closed = Fermé
sla-at-risk = En danger
sla-breached = Dépassé
sla-paused = En pause
approval-pending = En attente d'approbation
approval-approved = Approuvé
approval-rejected = Refusé
ticket-subject = Objet
ticket-subject-required = Veuillez donner un objet au ticket.
ticket-email = Adresse e-mail
ticket-email-hint = Les réponses sont envoyées à cette adresse.
ticket-email-invalid = Ce n'est pas une adresse e-mail.
ticket-description = Description
ticket-priority = Priorité
ticket-type = Type
ticket-type-none = Demande générale
ticket-files = Pièces jointes
ticket-files-hint = Choisissez des fichiers, déposez-les ici ou collez une capture d'écran.
ticket-submit = Ouvrir le ticket
ticket-thread = Conversation
ticket-internal-note = Note interne
ticket-live-updated = La conversation a été mise à jour.
ticket-reply = Répondre
ticket-reply-body = Votre message
ticket-reply-submit = Envoyer
ticket-reply-empty = Veuillez écrire un message ou joindre un fichier.
ticket-details = Détails
ticket-approval = Approbation
ticket-requester = Demandeur
ticket-assignee = Attribué à
ticket-unassigned = Personne pour l'instant
ticket-created = Ouvert le
ticket-change-status = Statut
ticket-change-status-submit = Changer le statut
ticket-close = Fermer le ticket
ticket-reopen = Rouvrir le ticket
ticket-take = M'attribuer
ticket-cannot-reopen = Les tickets de ce support ne peuvent pas être rouverts ; ouvrez-en un nouveau.
ticket-notice-replied = Votre message a été ajouté.
ticket-notice-status = Le ticket a été mis à jour.
ticket-author-system = Support
form-refused-title = Impossible d'enregistrer
form-files-again = Veuillez joindre à nouveau vos fichiers.

# Ticket page: rating, approval decision, technician workspace
ticket-notice-rated = Merci pour votre évaluation.
ticket-notice-decided = Votre décision a été enregistrée.
ticket-notice-time = Le temps a été enregistré.
rating-1 = 1 — Très insatisfaisant
rating-2 = 2 — Insatisfaisant
rating-3 = 3 — Correct
rating-4 = 4 — Bien
rating-5 = 5 — Excellent
ticket-rating = Évaluer la réponse
ticket-rating-question = Comment votre demande a-t-elle été traitée ?
ticket-rating-comment = Commentaire (facultatif)
ticket-rating-submit = Envoyer l'évaluation
ticket-rating-missing = Veuillez choisir une note de 1 à 5.
ticket-decide = Votre approbation est requise
ticket-decide-help = Cette demande doit être approuvée avant que les techniciens puissent la traiter.
ticket-decide-reason = Motif
ticket-decide-reason-hint = Obligatoire en cas de refus : le demandeur le recevra.
ticket-approve = Approuver
ticket-reject = Refuser
ticket-reject-reason-missing = Veuillez indiquer au demandeur le motif du refus.
ticket-fields-submit = Enregistrer la priorité et le type
ticket-time = Temps passé
ticket-time-total = Au total :
ticket-time-add = Saisir du temps
ticket-time-hours = Heures
ticket-time-minutes = Minutes
ticket-time-date = Date
ticket-time-duration = Durée
ticket-time-billable = Facturable
ticket-time-note = Note
ticket-time-submit = Saisir le temps
ticket-time-invalid = Indiquez les heures et minutes travaillées en nombres entiers.
ticket-time-invoiced = facturé
ticket-requester-others = Les autres tickets du demandeur
yes = Oui
no = Non
duration-minutes = { $minutes } min
duration-hours = { $hours } h
duration-hours-minutes = { $hours } h { $minutes } min

# Account settings
nav-settings = Paramètres
settings-title = Vos paramètres
settings-signed-in-as = Connecté en tant que
settings-language-choice = Langue du portail et de vos e-mails
settings-password = Mot de passe
settings-password-help = Au moins 8 caractères avec une majuscule, une minuscule et un chiffre ou un symbole. Le changer vous déconnecte partout.
settings-password-current = Mot de passe actuel
settings-password-new = Nouveau mot de passe
settings-password-again = Nouveau mot de passe, à nouveau
settings-password-submit = Changer le mot de passe
settings-password-wrong = Le mot de passe actuel n'est pas correct.
settings-password-changed-title = Mot de passe changé
settings-password-changed = Votre mot de passe a été changé et toutes les sessions ont été fermées. Veuillez vous reconnecter.
settings-security = Sécurité de la connexion
settings-factor = Second facteur
settings-factor-totp = Application d'authentification
settings-factor-sms = SMS
settings-factor-none = Non configuré
settings-phone = Numéro de mobile
settings-phone-none = Aucun
settings-phone-add = Ajouter un numéro de mobile
settings-phone-change-help = Pour utiliser un autre numéro, supprimez celui-ci puis ajoutez le nouveau.
settings-phone-remove = Supprimer le numéro
settings-phone-removed = Le numéro de mobile a été supprimé.
settings-phone-is-factor = Ce numéro reçoit vos codes de connexion ; un administrateur peut réinitialiser votre second facteur pour le changer.
settings-sessions-link = Voir et fermer vos sessions actives

# Console: organization filter and bulk actions
console-organization = Organisation
console-organization-all = Toutes les organisations
console-bulk = Modifier les tickets sélectionnés
console-bulk-action = Action
console-bulk-status = Changer le statut
console-bulk-priority = Changer la priorité
console-bulk-new-status = Statut
console-bulk-new-priority = Priorité
console-bulk-apply = Appliquer à la sélection
console-bulk-select = Sélectionner
console-bulk-choose = Sélectionnez entre 1 et 100 tickets.
console-bulk-done = { $count } ticket(s) modifié(s).
console-bulk-partly = { $count } ticket(s) modifié(s) ; { $failed } n'ont pas pu l'être (en attente d'approbation, ou non autorisé).

# Service reports and colleagues' accounts
nav-reports = Rapports
nav-colleagues = Collègues
report-title = Rapport de service
report-from = Du
report-to = Au (inclus)
report-show = Afficher
report-csv = Télécharger en CSV
report-opened = Tickets ouverts
report-resolved = Tickets résolus
report-closed = Tickets fermés
report-first-response = Délai moyen de première réponse
report-resolution = Délai moyen de résolution
report-sla = Respect des SLA
report-ratings = Évaluations
report-mean-rating = Note moyenne
report-low-ratings = Évaluations basses
report-billable = Temps facturable
report-non-billable = Temps non facturable
colleagues-title = Comptes pour vos collègues
colleagues-help = Demandez au support un compte pour un collègue de votre organisation. Vous serez informé de la décision ; votre collègue recevra une invitation.
colleagues-name = Nom
colleagues-submit = Demander le compte
colleagues-requests = Les demandes de votre organisation
colleagues-none = Aucune demande pour l'instant.
colleagues-requested = La demande a été envoyée au support.
colleagues-email-invalid = Saisissez une adresse e-mail valide.
colleagues-status-pending = En attente du support
colleagues-status-approved = Approuvée
colleagues-status-rejected = Refusée

# Time zone
settings-time-zone = Fuseau horaire
settings-time-zone-help = Les heures de chaque page sont affichées dans ce fuseau. Il est maintenant
settings-time-zone-choice = Votre fuseau horaire
settings-time-zone-default = Celui de l'organisation
settings-time-zone-save = Enregistrer le fuseau
settings-time-zone-saved = Fuseau horaire enregistré.
settings-time-zone-unknown = Ce fuseau horaire est inconnu.
ticket-canned = Réponse type
ticket-canned-insert = Insérer

# Plugin views (/apps)
nav-apps = Applications
apps-title = Applications
apps-none = Aucune application ne vous est encore proposée.
apps-unavailable = Cette application est occupée ou en pause. Réessayez dans un instant.
apps-failed = Cette application n’a pas pu répondre. Réessayez plus tard.
apps-assistant = Assistant
apps-you = Vous
