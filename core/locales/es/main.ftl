portal-title = Centro de soporte de { $tenant }
portal-welcome = Bienvenido al centro de soporte de { $tenant }: abra y siga sus tickets, consulte la base de conocimientos y gestione sus dispositivos.
operator-title = Consola de operación de Portico
operator-welcome = Inicie sesión para gestionar los inquilinos de esta instalación. El primer administrador usa el enlace de configuración que Portico mostró al arrancar.
not-found-title = Página no encontrada
not-found-body = No hay nada en esta dirección.
suspended-title = { $tenant } no está disponible
suspended-body = Este centro de soporte no está disponible temporalmente. Vuelva a intentarlo más tarde o llame a su proveedor de TI.
error-not-found = No encontrado.
error-unauthorized = Se requiere autenticación.
error-forbidden = No tiene permiso para hacer esto.
error-invalid-input = Los datos no son válidos.
error-conflict = Esto ya existe.
error-unavailable = El servicio no está disponible temporalmente.
error-timeout = La solicitud tardó demasiado.
error-payload-too-large = La solicitud es demasiado grande.
error-internal = Algo falló por nuestra parte. Ha quedado registrado.
invitation-subject = Su cuenta en el centro de soporte de { $tenant }
invitation-body = Hola:

    se ha creado una cuenta para usted en el centro de soporte de { $tenant }.

    Dirección: { $portal }
    Nombre de usuario: { $email }

    Elija aquí su contraseña y su segundo factor (el enlace funciona una vez y caduca en 72 horas):
    { $link }
login-title = Iniciar sesión
login-email = Correo electrónico
login-password = Contraseña
login-submit = Iniciar sesión
login-failed = El correo electrónico o la contraseña no son correctos.
second-factor-title = Introduzca su código
second-factor-help = Abra su aplicación de autenticación e introduzca el código de 6 cifras que muestra, o uno de sus códigos de recuperación.
second-factor-code = Código
second-factor-submit = Continuar
second-factor-failed = Este código no es válido. Cada código solo funciona una vez.
enrol-title = Configure su aplicación de autenticación
enrol-help = Escanee el código QR con una aplicación de autenticación (por ejemplo Microsoft Authenticator, Google Authenticator o 2FAS) e introduzca el código de 6 cifras que muestra.
enrol-manual = O introduzca esta clave a mano:
recovery-title = Sus códigos de recuperación
recovery-help = Guarde estos códigos en un lugar seguro. Cada uno le permite entrar una vez si pierde el teléfono. Solo se muestran ahora.
continue = Continuar
invite-title = Bienvenido a { $tenant }
invite-help = Elija una contraseña: al menos 8 caracteres, con mayúsculas, minúsculas y un número o un símbolo.
invite-password-again = Repita la contraseña
invite-submit = Guardar la contraseña
invite-invalid-title = Enlace no válido
invite-invalid = Este enlace ya se ha usado o ha caducado. Pida una nueva invitación a su proveedor de TI.
invite-email-invalid = Introduzca un correo electrónico válido.
invite-email-taken = Ya existe una cuenta con este correo electrónico.
password-too-short = La contraseña debe tener al menos 8 caracteres.
password-too-long = La contraseña puede tener como máximo 128 caracteres.
password-too-simple = La contraseña necesita una mayúscula, una minúscula y un número o un símbolo.
password-too-common = Esta contraseña es demasiado común o se parece demasiado a su correo electrónico.
password-mismatch = Las dos contraseñas no coinciden.
signed-in-as = Sesión iniciada como { $email }
logout = Cerrar sesión
nav-sessions = Sesiones
nav-home = Volver al portal
sessions-title = Sus sesiones
sessions-current = Esta sesión
sessions-end = Cerrar
sessions-started = Iniciada
sessions-last-seen = Última actividad
maintenance-title = { $tenant } se está actualizando
maintenance-body = Este centro de soporte se está actualizando y volverá en unos minutos.
rate-limited-title = Demasiados intentos
rate-limited-body = Demasiados intentos. Espere { $minutes } minuto(s) y vuelva a intentarlo.
stepup-title = Confirme que es usted
stepup-help-new = Esta acción requiere un código enviado a su móvil. Introduzca su número en formato internacional; se guarda cuando el código lo confirma.
stepup-help-known = Esta acción requiere un código enviado a su móvil { $phone }.
stepup-phone = Número de móvil
stepup-send = Enviar el código
stepup-code-help = Introduzca el código de 6 cifras del SMS. Es válido durante 5 minutos.
stepup-phone-invalid = Introduzca el número en formato internacional, por ejemplo +34 612 345 678.
stepup-send-failed = No se pudo enviar el SMS. Vuelva a intentarlo más tarde.
stepup-code-unusable = Este código ha caducado o se ha probado demasiadas veces. Pida uno nuevo.
stepup-sms = Su código de { $tenant } es { $code }. Caduca en 5 minutos. No lo comparta nunca.
login-sso-heading = Iniciar sesión con la cuenta de su organización
login-sso-submit = Continuar
sso-not-available = El inicio de sesión único no está configurado para este dominio. Inicie sesión con su contraseña.
sso-failed = El inicio de sesión único no se completó. Inténtelo de nuevo o consulte a su proveedor de TI.
reset-link = ¿Ha olvidado su contraseña?
reset-title = Restablecer la contraseña
reset-help = Introduzca el correo electrónico de su cuenta. Le enviamos un enlace para elegir una contraseña nueva; seguirá necesitando su segundo factor para entrar.
reset-submit = Enviar el enlace
reset-sent = Si existe una cuenta con este correo, le hemos enviado un enlace. Es válido durante una hora.
reset-new-title = Elija una contraseña nueva
password-reset-subject = Restablecer su contraseña de { $tenant }
password-reset-body = Hola:

    alguien ha pedido restablecer la contraseña de { $email } en el centro de soporte de { $tenant }. Si ha sido usted, elija una contraseña nueva aquí (el enlace funciona una vez y caduca en una hora):
    { $link }

    Si no ha sido usted, ignore este mensaje: su contraseña no cambia.
enrol-sms-heading = O use mensajes SMS
sms-code-sent = Hemos enviado un código de 6 cifras al { $phone }. Es válido durante 5 minutos.
second-factor-sms-send = Enviar un código al { $phone }
operator-setup-title = Configure su cuenta de operador
operator-setup-invalid = Este enlace de configuración ya se ha usado o ha caducado. Pida uno nuevo a otro administrador de la plataforma o créelo con «portico admin create».
operator-tenants = Inquilinos
operator-tenant-slug = Dirección
operator-tenant-name = Nombre
operator-tenant-status = Estado
operator-status-active = Activo
operator-status-suspended = Suspendido
operator-status-other = En preparación
domain-verified-subject = { $host } está verificado
domain-verified-body = Hola:

    los registros DNS de { $host } están configurados: el dominio está verificado y ya sirve su portal. Su certificado TLS se emite y se renueva automáticamente.
domain-grace-subject = Acción necesaria: faltan los registros DNS de { $host }
domain-grace-body = Hola:

    la última comprobación de { $host } encontró un problema:

    { $problems }

    El dominio sigue funcionando por ahora. Si no se restablecen los registros, se desactivará al final del periodo de gracia: dejará de servir su portal y su certificado dejará de renovarse.
domain-disabled-subject = { $host } se ha desactivado
domain-disabled-body = Hola:

    los registros DNS de { $host } siguieron faltando durante todo el periodo de gracia, por lo que el dominio se ha desactivado: ya no sirve su portal.

    { $problems }

    Restablezca los registros y el dominio se verificará de nuevo en la próxima comprobación.
domain-recovered-subject = Los registros DNS de { $host } han vuelto
domain-recovered-body = Hola:

    los registros DNS de { $host } vuelven a estar configurados: no hace falta nada más.
approval-title = Aprobación del ticket n.º { $number }
approval-intro = Se le pide que apruebe esta solicitud. Nada cambia hasta que elija abajo.
approval-reason = Motivo (obligatorio para rechazar; el solicitante lo leerá)
approval-approve = Aprobar
approval-reject = Rechazar
approval-done-approved = Gracias: ha aprobado el ticket n.º { $number }.
approval-done-rejected = Gracias: ha rechazado el ticket n.º { $number }. Se informará al solicitante del motivo.
approval-link-invalid-title = El enlace ya no es válido
approval-link-invalid = Este enlace de aprobación ha caducado o ya se ha usado. Inicie sesión en el portal para ver la solicitud.
approval-mail-subject = [{ $tenant }] Aprobación solicitada para el ticket n.º { $number }: { $subject }
approval-mail-body = Una solicitud necesita su aprobación:

    n.º { $number } { $subject }

    Abra este enlace para leerla y aprobarla o rechazarla (el enlace funciona una vez, durante 7 días):
    { $link }
approval-rejected-subject = [{ $tenant }] El ticket n.º { $number } no ha sido aprobado
approval-rejected-body = Su solicitud n.º { $number } «{ $subject }» no ha sido aprobada.

    Motivo: { $reason }
rating-low-subject = El ticket n.º { $number } recibió { $rating } de 5
rating-low-body = El solicitante valoró la respuesta al ticket n.º { $number } con { $rating } de 5.

    { $comment }
priority-critical = Crítica
priority-critical-help = Una caída general que afecta a varios usuarios, o un problema de seguridad.
priority-high = Alta
priority-high-help = Un usuario está bloqueado y no puede trabajar.
priority-medium = Media
priority-medium-help = Urgente, pero se puede seguir trabajando mientras tanto.
priority-low = Baja
priority-low-help = No urgente.

# The API reference page at /api/docs.
api-docs-title = Referencia de la API
api-docs-intro = Todas las operaciones de la API del inquilino. La descripción legible por máquina:
api-docs-parameters = Parámetros
api-docs-request = Cuerpo de la solicitud
api-docs-responses = Respuestas
api-docs-required = obligatorio
escalation-mail-subject = Ticket n.º { $number } escalado al nivel { $level }: { $subject }
escalation-mail-body = El ticket n.º { $number } ({ $subject }) ha pasado al nivel de soporte { $level } porque { $reason ->
        [breached] se ha incumplido su SLA
       *[at_risk] su SLA está en riesgo
    }. Por favor, encárguese de él.

kb-title = Base de conocimientos
kb-search-label = Buscar en la base de conocimientos
kb-search-button = Buscar
kb-results = Artículos encontrados: { $count }
kb-no-results = No se encontró nada. Pruebe otras palabras o abra un ticket.
kb-empty = Todavía no hay artículos.
kb-back = Todos los artículos
kb-other-languages = También en

## E-mail channel
mail-reply-above = Escriba su respuesta por encima de esta línea
mail-close-label = ¿Problema resuelto? Cerrar el ticket
mail-footer = Este mensaje lo ha enviado el servicio de soporte { $tenant }. Responda a este correo para completar su ticket; no cambie el asunto, por favor.
ticket-created-mail-subject = Ticket n.º { $number } recibido: { $subject }
ticket-created-mail-body = Hola:

    hemos recibido su solicitud y abierto el ticket n.º { $number }:

    { $description }

    Responda a este correo para añadir información. Seguir el ticket: { $link }
ticket-reply-mail-subject = RE: { $subject }
ticket-reply-mail-body = { $author } escribió en el ticket n.º { $number }:

    { $body }

    Responda a este correo para contestar. El ticket completo: { $link }
ticket-status-mail-subject = Ticket n.º { $number }: { $status } – { $subject }
ticket-status-mail-body = Su ticket n.º { $number } «{ $subject }» está ahora: { $status }.

    Si aún falta algo, responda a este correo. El ticket: { $link }
ticket-status-waiting = en espera de su respuesta
ticket-status-resolved = resuelto
ticket-status-closed = cerrado
ticket-sla-mail-subject = SLA { $state }: ticket n.º { $number } { $subject }
ticket-sla-mail-body = El SLA del ticket n.º { $number } «{ $subject }» está { $state }.

    Abrirlo: { $link }
mail-sla-at_risk = en riesgo
mail-sla-breached = incumplido
mail-no-subject = (sin asunto)
mail-refusal-subject = Su mensaje a { $tenant } no ha sido aceptado
mail-refusal-body = Hola:

    el servicio de soporte { $tenant } solo acepta solicitudes de las personas y organizaciones a las que atiende, por lo que su mensaje «{ $subject }» no se ha convertido en un ticket.

    Si cree que es un error, contacte con su proveedor por otro medio.
mail-close-invalid-title = Este enlace ya no funciona
mail-close-invalid = El enlace ha caducado o no es válido. Inicie sesión en el portal para gestionar su ticket.
mail-close-title = Cerrar el ticket n.º { $number }
mail-close-intro = ¿Está resuelto su problema? Confirme para cerrar el ticket. Podrá seguir respondiendo más adelante.
mail-close-confirm = Cerrar el ticket
mail-close-done = El ticket n.º { $number } está cerrado. ¡Gracias!

# Portal and console ticket pages
skip-to-content = Saltar al contenido
nav-main = Principal
nav-tickets = Tickets
nav-console = Consola
nav-kb = Base de conocimiento
language-label = Idioma
language-save = Cambiar
language-unknown = Este idioma no está disponible.
console-views = Vistas
console-view-mine = Mis tickets
console-view-unassigned = Sin asignar
console-view-sla = SLA en riesgo
console-view-approval = Pendientes de aprobación
console-view-all = Todos los tickets
tickets-title = Mis tickets
tickets-search = Buscar tickets
tickets-search-submit = Buscar
tickets-new = Nuevo ticket
tickets-status-tabs = Estado
tickets-tab-open = En curso
tickets-tab-all = Todos
tickets-count = { $count } tickets
tickets-col-status = Estado
tickets-col-number = Número
tickets-col-subject = Asunto
tickets-col-priority = Prioridad
tickets-col-sla = SLA
tickets-col-updated = Última actualización
tickets-next-page = Página siguiente
tickets-none = No hay tickets aquí.
status-new = Nuevo
status-open = Abierto
status-waiting = En espera
status-paused = En pausa
status-resolved = Resuelto
status-closed = Cerrado
sla-at-risk = En riesgo
sla-breached = Incumplido
sla-paused = En pausa
approval-pending = Pendiente de aprobación
approval-approved = Aprobado
approval-rejected = Rechazado
ticket-subject = Asunto
ticket-subject-required = Indique un asunto para el ticket.
ticket-email = Correo electrónico
ticket-email-hint = Las respuestas se envían a esta dirección.
ticket-email-invalid = No es una dirección de correo.
ticket-description = Descripción
ticket-priority = Prioridad
ticket-type = Tipo
ticket-type-none = Solicitud general
ticket-files = Adjuntos
ticket-files-hint = Elija archivos, suéltelos aquí o pegue una captura de pantalla.
ticket-submit = Abrir el ticket
ticket-thread = Conversación
ticket-internal-note = Nota interna
ticket-live-updated = La conversación se ha actualizado.
ticket-reply = Responder
ticket-reply-body = Su mensaje
ticket-reply-submit = Enviar
ticket-reply-empty = Escriba un mensaje o adjunte un archivo.
ticket-details = Detalles
ticket-approval = Aprobación
ticket-requester = Solicitante
ticket-assignee = Asignado a
ticket-unassigned = Nadie todavía
ticket-created = Abierto
ticket-change-status = Estado
ticket-change-status-submit = Cambiar estado
ticket-close = Cerrar el ticket
ticket-reopen = Reabrir el ticket
ticket-take = Asignármelo
ticket-cannot-reopen = Los tickets de este servicio no se pueden reabrir; abra uno nuevo.
ticket-notice-replied = Su mensaje se ha añadido.
ticket-notice-status = El ticket se ha actualizado.
ticket-author-system = Servicio de soporte
form-refused-title = No se ha podido guardar
form-files-again = Adjunte de nuevo sus archivos.

# Ticket page: rating, approval decision, technician workspace
ticket-notice-rated = Gracias por su valoración.
ticket-notice-decided = Su decisión se ha registrado.
ticket-notice-time = El tiempo se ha registrado.
rating-1 = 1 — Muy mala
rating-2 = 2 — Mala
rating-3 = 3 — Aceptable
rating-4 = 4 — Buena
rating-5 = 5 — Excelente
ticket-rating = Valorar la respuesta
ticket-rating-question = ¿Cómo se atendió su solicitud?
ticket-rating-comment = Comentario (opcional)
ticket-rating-submit = Enviar valoración
ticket-rating-missing = Elija una valoración del 1 al 5.
ticket-decide = Se necesita su aprobación
ticket-decide-help = Esta solicitud debe aprobarse antes de que los técnicos puedan trabajar en ella.
ticket-decide-reason = Motivo
ticket-decide-reason-hint = Obligatorio si la rechaza: el solicitante lo recibirá.
ticket-approve = Aprobar
ticket-reject = Rechazar
ticket-reject-reason-missing = Indique al solicitante el motivo del rechazo.
ticket-fields-submit = Guardar prioridad y tipo
ticket-time = Tiempo dedicado
ticket-time-total = En total:
ticket-time-add = Registrar tiempo
ticket-time-hours = Horas
ticket-time-minutes = Minutos
ticket-time-date = Fecha
ticket-time-duration = Duración
ticket-time-billable = Facturable
ticket-time-note = Nota
ticket-time-submit = Registrar tiempo
ticket-time-invalid = Indique las horas y los minutos trabajados con números enteros.
ticket-time-invoiced = facturado
ticket-requester-others = Otros tickets del solicitante
yes = Sí
no = No
duration-minutes = { $minutes } min
duration-hours = { $hours } h
duration-hours-minutes = { $hours } h { $minutes } min

# Account settings
nav-settings = Ajustes
settings-title = Sus ajustes
settings-signed-in-as = Sesión iniciada como
settings-language-choice = Idioma del portal y de sus correos
settings-password = Contraseña
settings-password-help = Al menos 8 caracteres con una mayúscula, una minúscula y un dígito o un símbolo. Cambiarla cierra todas sus sesiones.
settings-password-current = Contraseña actual
settings-password-new = Nueva contraseña
settings-password-again = Repita la nueva contraseña
settings-password-submit = Cambiar la contraseña
settings-password-wrong = La contraseña actual no es correcta.
settings-password-changed-title = Contraseña cambiada
settings-password-changed = Su contraseña se ha cambiado y se han cerrado todas las sesiones. Inicie sesión de nuevo.
settings-security = Seguridad del acceso
settings-factor = Segundo factor
settings-factor-totp = Aplicación de autenticación
settings-factor-sms = Mensajes de texto
settings-factor-none = Sin configurar
settings-phone = Número de móvil
settings-phone-none = Ninguno
settings-phone-add = Añadir un número de móvil
settings-phone-change-help = Para usar otro número, elimine este y añada el nuevo.
settings-phone-remove = Eliminar el número
settings-phone-removed = Se ha eliminado el número de móvil.
settings-phone-is-factor = Este número recibe sus códigos de acceso; un administrador puede restablecer su segundo factor para cambiarlo.
settings-sessions-link = Ver y cerrar sus sesiones activas

# Console: organization filter and bulk actions
console-organization = Organización
console-organization-all = Todas las organizaciones
console-bulk = Cambiar los tickets seleccionados
console-bulk-action = Acción
console-bulk-status = Cambiar el estado
console-bulk-priority = Cambiar la prioridad
console-bulk-new-status = Estado
console-bulk-new-priority = Prioridad
console-bulk-apply = Aplicar a la selección
console-bulk-select = Seleccionar
console-bulk-choose = Seleccione entre 1 y 100 tickets.
console-bulk-done = { $count } ticket(s) cambiado(s).
console-bulk-partly = { $count } ticket(s) cambiado(s); { $failed } no se pudieron cambiar (pendientes de aprobación o no permitido).

# Service reports and colleagues' accounts
nav-reports = Informes
nav-colleagues = Compañeros
report-title = Informe de servicio
report-from = Desde
report-to = Hasta (incluido)
report-show = Mostrar
report-csv = Descargar en CSV
report-opened = Tickets abiertos
report-resolved = Tickets resueltos
report-closed = Tickets cerrados
report-first-response = Tiempo medio hasta la primera respuesta
report-resolution = Tiempo medio de resolución
report-sla = Cumplimiento del SLA
report-ratings = Valoraciones
report-mean-rating = Valoración media
report-low-ratings = Valoraciones bajas
report-billable = Tiempo facturable
report-non-billable = Tiempo no facturable
colleagues-title = Cuentas para compañeros
colleagues-help = Pida al servicio de soporte una cuenta para un compañero de su organización. Se le informará de la decisión; su compañero recibirá una invitación.
colleagues-name = Nombre
colleagues-submit = Pedir la cuenta
colleagues-requests = Solicitudes de su organización
colleagues-none = Todavía no hay solicitudes.
colleagues-requested = La solicitud se ha enviado al servicio de soporte.
colleagues-email-invalid = Introduzca una dirección de correo válida.
colleagues-status-pending = Pendiente del servicio de soporte
colleagues-status-approved = Aprobada
colleagues-status-rejected = Rechazada

# Time zone
settings-time-zone = Zona horaria
settings-time-zone-help = Las horas de cada página se muestran en esta zona. Ahora son
settings-time-zone-choice = Su zona horaria
settings-time-zone-default = La predeterminada de la organización
settings-time-zone-save = Guardar zona horaria
settings-time-zone-saved = Zona horaria guardada.
settings-time-zone-unknown = No conocemos esa zona horaria.
ticket-canned = Respuesta predefinida
ticket-canned-insert = Insertar

# Plugin views (/apps)
nav-apps = Aplicaciones
apps-title = Aplicaciones
apps-none = Todavía no tiene aplicaciones disponibles.
apps-unavailable = Esta aplicación está ocupada o en pausa. Vuelva a intentarlo en un momento.
apps-failed = Esta aplicación no ha podido responder. Vuelva a intentarlo más tarde.
apps-assistant = Asistente
apps-you = Usted
