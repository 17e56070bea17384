package io.quarry.notification;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.icegreen.greenmail.junit5.GreenMailExtension;
import com.icegreen.greenmail.util.ServerSetup;
import io.quarry.support.QuarryIntegrationTest;
import jakarta.mail.Address;
import jakarta.mail.internet.MimeMessage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The maintenance events on the notification side against a real SMTP server (GreenMail): the
 * cleanup event deletes only sent mail past the retention (30 days by default), the resend event
 * puts failed mail with attempts left (5 by default) back in line, and the sender delivers pending
 * mail or records why it could not.
 */
@QuarryIntegrationTest
class EmailMaintenanceIT {

  private static final String EVENTS = "direct:notification-event";

  private static final int SMTP_PORT = freePort();

  @RegisterExtension
  static final GreenMailExtension smtp =
      new GreenMailExtension(new ServerSetup(SMTP_PORT, "127.0.0.1", ServerSetup.PROTOCOL_SMTP))
          .withPerMethodLifecycle(false);

  @DynamicPropertySource
  static void smtpServer(DynamicPropertyRegistry registry) {
    registry.add("quarry.notification.smtp.host", () -> "127.0.0.1");
    registry.add("quarry.notification.smtp.port", () -> SMTP_PORT);
  }

  @Autowired JdbcClient jdbc;
  @Autowired ProducerTemplate camel;
  @Autowired EmailRepository emails;

  /** One row of the email table as the test reads it back. */
  record Row(String status, int attempts, String lastError, OffsetDateTime sentAt) {}

  @BeforeEach
  void startEmpty() throws Exception {
    jdbc.sql("delete from email").update();
    smtp.purgeEmailFromAllMailboxes();
  }

  @Test
  void cleanupDeletesOnlySentMailPastRetention() {
    long sent40DaysAgo = insert("sent", 1, "sent_at", 40);
    long sent31DaysAgo = insert("sent", 1, "sent_at", 31);
    long sent29DaysAgo = insert("sent", 1, "sent_at", 29);
    long sentYesterday = insert("sent", 1, "sent_at", 1);
    long failed40DaysAgo = insert("failed", 5, "created_at", 40);

    camel.sendBody(EVENTS, event("CleanUpSentEmailIntegrationEvent", UUID.randomUUID()));

    assertThat(jdbc.sql("select id from email order by id").query(Long.class).list())
        .as("sent mail younger than 30 days and failed mail stay; older sent mail is gone")
        .containsExactly(sent29DaysAgo, sentYesterday, failed40DaysAgo)
        .doesNotContain(sent40DaysAgo, sent31DaysAgo);
  }

  @Test
  void resendDeliversFailedMailOverSmtpAndStopsAtTheAttemptLimit() throws Exception {
    long retried =
        insertFailed("retry@example.com", "Your export is ready", "Export 17 is ready.", 1);
    long exhausted =
        insertFailed("exhausted@example.com", "Given up", "This one was tried 5 times.", 5);

    camel.sendBody(EVENTS, event("ResendErrorEmailIntegrationEvent", UUID.randomUUID()));

    await()
        .atMost(Duration.ofSeconds(15))
        .until(() -> smtp.getReceivedMessages().length, n -> n >= 1);
    MimeMessage delivered = smtp.getReceivedMessages()[0];
    assertThat(delivered.getSubject()).isEqualTo("Your export is ready");
    assertThat(addresses(delivered.getAllRecipients())).containsExactly("retry@example.com");

    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              Row row = row(retried);
              assertThat(row.status()).isEqualTo("sent");
              assertThat(row.sentAt()).isNotNull();
              assertThat(row.attempts()).isEqualTo(2);
              assertThat(row.lastError()).isNull();
            });

    await()
        .during(Duration.ofSeconds(2))
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () -> {
              assertThat(smtp.getReceivedMessages()).hasSize(1);
              Row row = row(exhausted);
              assertThat(row.status()).isEqualTo("failed");
              assertThat(row.attempts()).isEqualTo(5);
              assertThat(row.sentAt()).isNull();
            });
  }

  @Test
  void aMailThatCannotBeDeliveredIsMarkedFailedWithTheError() {
    long id = emails.enqueue(null, "not an address", "Never arrives", "Nobody reads this.");

    await()
        .atMost(Duration.ofSeconds(15))
        .untilAsserted(
            () -> {
              Row row = row(id);
              assertThat(row.status()).isEqualTo("failed");
              assertThat(row.attempts()).isEqualTo(1);
              assertThat(row.lastError()).contains("AddressException");
              assertThat(row.sentAt()).isNull();
            });
    assertThat(smtp.getReceivedMessages()).isEmpty();

    // failed mail waits for the resend event; the sender does not pick it up again on its own
    await()
        .during(Duration.ofSeconds(1))
        .atMost(Duration.ofSeconds(3))
        .until(() -> row(id), row -> row.status().equals("failed") && row.attempts() == 1);
  }

  @Test
  void pendingMailIsDeliveredBySenderRoute() throws Exception {
    String body = "Grüße aus dem Steinbruch: 3 neue Berichte ✓";
    long id = emails.enqueue(null, "carol@example.com", "Bericht für März ✓", body);

    await()
        .atMost(Duration.ofSeconds(15))
        .until(() -> smtp.getReceivedMessages().length, n -> n >= 1);
    MimeMessage delivered = smtp.getReceivedMessages()[0];
    assertThat(addresses(delivered.getAllRecipients())).containsExactly("carol@example.com");
    assertThat(addresses(delivered.getFrom())).containsExactly("quarry@localhost");
    assertThat(delivered.getSubject()).isEqualTo("Bericht für März ✓");
    assertThat(delivered.getContentType()).startsWith("text/plain");
    assertThat(((String) delivered.getContent()).strip()).isEqualTo(body);

    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              Row row = row(id);
              assertThat(row.status()).isEqualTo("sent");
              assertThat(row.attempts()).isEqualTo(1);
              assertThat(row.sentAt()).isNotNull();
            });
    await()
        .during(Duration.ofSeconds(1))
        .atMost(Duration.ofSeconds(3))
        .untilAsserted(() -> assertThat(smtp.getReceivedMessages()).hasSize(1));
  }

  /** A mail with the given status whose {@code column} (sent_at or created_at) is days ago. */
  private long insert(String status, int attempts, String column, int daysAgo) {
    String sentAt = column.equals("sent_at") ? "now() - make_interval(days => :days)" : "null";
    return jdbc.sql(
            """
            insert into email (recipient, subject, body, status, attempts, created_at, updated_at,
                               sent_at)
            values ('old@example.com', 'Report', 'Body', :status, :attempts,
                    now() - make_interval(days => :days + 1), now() - make_interval(days => :days),
                    %s)
            returning id
            """
                .formatted(sentAt))
        .param("status", status)
        .param("attempts", attempts)
        .param("days", daysAgo)
        .query(Long.class)
        .single();
  }

  private long insertFailed(String recipient, String subject, String body, int attempts) {
    return jdbc.sql(
            """
            insert into email (recipient, subject, body, status, attempts, last_error)
            values (:to, :subject, :body, 'failed', :attempts, 'MessagingException: earlier')
            returning id
            """)
        .param("to", recipient)
        .param("subject", subject)
        .param("body", body)
        .param("attempts", attempts)
        .query(Long.class)
        .single();
  }

  private Row row(long id) {
    return jdbc.sql("select status, attempts, last_error, sent_at from email where id = :id")
        .param("id", id)
        .query(
            (rs, n) ->
                new Row(
                    rs.getString(1),
                    rs.getInt(2),
                    rs.getString(3),
                    rs.getObject(4, OffsetDateTime.class)))
        .single();
  }

  private static String event(String type, UUID id) {
    return """
        {"id":"%s","type":"%s","occurredAt":"%s","payload":{}}"""
        .formatted(id, type, Instant.now());
  }

  private static List<String> addresses(Address[] addresses) {
    return addresses == null ? List.of() : Arrays.stream(addresses).map(Address::toString).toList();
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
