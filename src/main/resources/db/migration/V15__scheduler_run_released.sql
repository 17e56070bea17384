-- A tick reads, claims and publishes its users page by page. When it fails midway, the users it
-- published are mined and those of the page under way that it claimed but did not publish are
-- released to the next tick: the run says how many (users_published, users_released). An
-- abandoned run (its instance died) records the users its recovery released.
alter table scheduler_run add column users_released integer not null default 0;
