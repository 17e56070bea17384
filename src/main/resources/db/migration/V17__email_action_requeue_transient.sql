-- The admin's re-queue of the failed mail worth another try only: every failed mail except those
-- the server refused for good (failure_class 'permanent'), e.g. after an outage longer than the
-- retries.
alter table email_action drop constraint email_action_action_check;
alter table email_action add constraint email_action_action_check
    check (action in ('requeue-failed', 'requeue-transient'));
