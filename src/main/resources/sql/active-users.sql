select id
  from app_user
 where active and not needs_reauthorization and id > :#quarryUsersAfter
 order by id
 limit :#quarryUsersPerPage
