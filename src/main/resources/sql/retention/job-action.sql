delete from job_action
 where id in (select id from job_action
               where acted_at < now() - make_interval(secs => :#retentionSeconds)
               order by id
               limit :#batchSize)
