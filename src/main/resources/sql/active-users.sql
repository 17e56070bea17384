select id from app_user where active and not needs_reauthorization order by id
