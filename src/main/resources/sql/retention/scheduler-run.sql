delete from scheduler_run
 where run_id in (select run_id from scheduler_run
                   where started_at < now() - make_interval(secs => :#retentionSeconds)
                     and outcome <> 'running'
                   limit :#batchSize)
