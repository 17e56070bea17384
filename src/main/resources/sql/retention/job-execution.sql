delete from job_execution
 where id in (select id from job_execution
               where started_at < now() - make_interval(secs => :#retentionSeconds)
                 and outcome <> 'running'
               order by id
               limit :#batchSize)
