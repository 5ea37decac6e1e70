portal-title = Centre de services { $tenant }
portal-welcome = Bienvenue au centre de services { $tenant } : ouvrez et suivez vos tickets, consultez la base de connaissances et gérez vos appareils.
operator-title = Console d'exploitation Portico
operator-welcome = Connectez-vous avec le lien de configuration affiché au démarrage de Portico.
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
