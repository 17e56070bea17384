delete from processed_message
 where ctid = any (array(select ctid from processed_message
                          where seen_at < now() - make_interval(secs => :#retentionSeconds)
                          limit :#batchSize))
