package io.quarry.storage;

import io.quarry.config.QuarryProperties;
import io.quarry.mining.DataBatch;
import io.quarry.notification.EmailRepository;
import java.sql.Date;
import java.time.LocalDate;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * What the data-topic subscribers do with a batch. Each is idempotent under redelivery: raw storage
 * by item key, analytics and notification by the batch's (deterministic) id or the run.
 */
@Component
public class Subscribers {

  private final RawItemRepository rawItems;
  private final JdbcClient jdbc;
  private final TransactionTemplate transaction;
  private final EmailRepository emails;
  private final String idField;

  public Subscribers(
      RawItemRepository rawItems,
      JdbcClient jdbc,
      TransactionTemplate transaction,
      EmailRepository emails,
      QuarryProperties properties) {
    this.rawItems = rawItems;
    this.jdbc = jdbc;
    this.transaction = transaction;
    this.emails = emails;
    this.idField = properties.platform().itemIdField();
  }

  public void rawStorage(DataBatch batch) {
    rawItems.storeAll(batch.userId(), batch.stream(), batch.runId(), batch.items(), idField);
  }

  /** Adds the batch's items to the per-user, per-day counts, once per batch. */
  public void analytics(DataBatch batch) {
    transaction.executeWithoutResult(
        status -> {
          if (!firstTime("analytics", batch.batchId())) {
            return;
          }
          Map<LocalDate, Long> perDay =
              batch.items().stream()
                  .map(RawItemRepository::dayOf)
                  .filter(java.util.Objects::nonNull)
                  .collect(
                      Collectors.groupingBy(
                          Function.identity(), TreeMap::new, Collectors.counting()));
          perDay.forEach(
              (day, count) ->
                  jdbc.sql(
                          """
                          insert into analytics_daily (user_id, stream, day, items)
                          values (:user, :stream, :day, :count)
                          on conflict (user_id, stream, day)
                          do update set items = analytics_daily.items + excluded.items
                          """)
                      .param("user", batch.userId())
                      .param("stream", batch.stream())
                      .param("day", Date.valueOf(day))
                      .param("count", count)
                      .update());
        });
  }

  /** Queues one digest mail per user and run, for users with an address. */
  public void notification(DataBatch batch) {
    String email =
        jdbc.sql("select email from app_user where id = :id")
            .param("id", batch.userId())
            .query(String.class)
            .optional()
            .orElse(null);
    if (email == null || email.isBlank()) {
      return;
    }
    transaction.executeWithoutResult(
        status -> {
          if (firstTime("digest", batch.runId() + ":" + batch.userId() + ":" + batch.stream())) {
            emails.enqueue(
                batch.userId(),
                email,
                "New " + batch.stream() + " data mined",
                "Quarry has mined new "
                    + batch.stream()
                    + " data for your account (run "
                    + batch.runId()
                    + ").");
          }
        });
  }

  private boolean firstTime(String processor, String id) {
    return jdbc.sql(
                """
                insert into processed_message (processor, message_id) values (:processor, :id)
                on conflict do nothing
                """)
            .param("processor", processor)
            .param("id", id)
            .update()
        == 1;
  }
}
