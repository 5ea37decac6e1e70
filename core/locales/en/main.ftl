portal-title = { $tenant } service desk
portal-welcome = Welcome to the { $tenant } service desk: open and follow your tickets, read the knowledge base and manage your devices.
operator-title = Portico operator console
operator-welcome = Sign in with the set-up link printed when Portico started.
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
