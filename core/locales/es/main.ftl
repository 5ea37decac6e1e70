portal-title = Centro de soporte de { $tenant }
portal-welcome = Bienvenido al centro de soporte de { $tenant }: abra y siga sus tickets, consulte la base de conocimientos y gestione sus dispositivos.
operator-title = Consola de operación de Portico
operator-welcome = Inicie sesión con el enlace de configuración que Portico mostró al arrancar.
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
