-- raw_item is the one table written per mined item (a million rows per 10,000 users x 5 pages).
-- Its foreign key to app_user ran a "select ... for key share" on app_user for every row: ~15%
-- of PostgreSQL's CPU in the mining benchmark. The same guarantees now cost one lock per batch:
-- - RawItemRepository.storeAll, the only writer, takes the user's row "for key share" in the
--   insert itself: no rows for a user that does not exist, and a concurrent delete of the user
--   waits until the batch has committed;
-- - deleting a user deletes its items (the trigger below, as "on delete cascade" did);
-- - a user's id never changes (the second trigger; the key would have refused it too).
-- A row written into raw_item by hand is not checked: write through the application.
alter table raw_item drop constraint raw_item_user_id_fkey;

create function raw_item_delete_items_of_user() returns trigger
language plpgsql as $$
begin
    delete from raw_item where user_id = old.id;
    return null;
end;
$$;

create trigger app_user_delete_raw_items
    after delete on app_user
    for each row execute function raw_item_delete_items_of_user();

create function app_user_id_never_changes() returns trigger
language plpgsql as $$
begin
    raise exception 'app_user.id cannot change (% -> %): raw_item rows refer to it', old.id, new.id
        using errcode = 'foreign_key_violation';
end;
$$;

create trigger app_user_id_fixed
    before update of id on app_user
    for each row when (new.id is distinct from old.id)
    execute function app_user_id_never_changes();
