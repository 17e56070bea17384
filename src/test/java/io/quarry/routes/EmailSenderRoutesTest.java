package io.quarry.routes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.ArgumentMatchers.contains;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarry.config.NotificationProperties;
import io.quarry.config.QuarryProperties;
import io.quarry.notification.EmailDelivery;
import io.quarry.notification.EmailMetrics;
import io.quarry.notification.EmailRepository;
import io.quarry.notification.EmailRepository.Email;
import io.quarry.notification.EmailStatus;
import io.quarry.notification.MailEndpoint;
import io.quarry.routes.delivery.EmailSenderRoutes;
import io.quarry.support.TestProperties;
import jakarta.mail.Address;
import jakarta.mail.MessagingException;
import jakarta.mail.SendFailedException;
import jakarta.mail.internet.InternetAddress;
import java.net.ConnectException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.camel.Exchange;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.component.mock.MockEndpoint;
import org.apache.camel.test.junit5.CamelTestSupport;
import org.eclipse.angus.mail.smtp.SMTPAddressFailedException;
import org.junit.jupiter.api.Test;

/**
 * The email sender with the mail table and SMTP mocked: each claimed mail leaves as one SMTP
 * message with only its recipient, subject and content type, and its outcome is recorded.
 */
class EmailSenderRoutesTest extends CamelTestSupport {

  private final EmailRepository emails = mock(EmailRepository.class);
  private final EmailStatus status = mock(EmailStatus.class);
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private MockEndpoint smtp;

  /** The notification settings of the shipped configuration, SMTP on an example host. */
  static QuarryProperties notificationProperties() {
    NotificationProperties notification =
        new NotificationProperties(
            Duration.ofMinutes(5),
            Duration.ofDays(30),
            1000,
            5,
            Duration.ofSeconds(5),
            50,
            Duration.ofMinutes(5),
            Duration.ofHours(1),
            Duration.ofMinutes(1),
            new NotificationProperties.Smtp(
                "mail.example.org",
                25,
                null,
                null,
                false,
                "quarry@example.org",
                Duration.ofSeconds(10)));
    return new QuarryProperties(
        "qa",
        null,
        null,
        null,
        null,
        Map.of(),
        null,
        Map.of(),
        null,
        notification,
        TestProperties.mining(65536, 0),
        null);
  }

  @Override
  public boolean isUseAdviceWith() {
    return true;
  }

  @Override
  protected RoutesBuilder createRouteBuilder() {
    context.getRegistry().bind("emailRepository", emails);
    QuarryProperties properties = notificationProperties();
    context
        .getRegistry()
        .bind(
            "emailDelivery",
            new EmailDelivery(
                emails, new EmailMetrics(status, meters), properties, Clock.systemUTC()));
    Properties placeholders = new Properties();
    placeholders.setProperty("quarry.notification.sender-interval", "1h");
    context.getPropertiesComponent().setOverrideProperties(placeholders);
    return new EmailSenderRoutes(properties, new MailEndpoint(properties));
  }

  private void adviseAndStart() throws Exception {
    AdviceWith.adviceWith(context, "email-sender-poll", a -> a.replaceFromWith("direct:poll"));
    AdviceWith.adviceWith(context, "email-sender", a -> a.mockEndpointsAndSkip("smtp*"));
    context.start();
    smtp =
        context.getEndpoints().stream()
            .filter(e -> e instanceof MockEndpoint && e.getEndpointUri().startsWith("mock://smtp"))
            .map(MockEndpoint.class::cast)
            .findFirst()
            .orElseThrow();
  }

  @Test
  void sendsEachClaimedMailOverSmtpWithOnlyItsAddressingHeadersThenMarksItSent() throws Exception {
    adviseAndStart();
    when(emails.claimPending(50))
        .thenReturn(
            List.of(
                new Email(1, "ann@example.org", "Your digest", "3 new posts", 1),
                new Email(2, "bob@example.org", "Your digest", "1 new post", 2)));
    smtp.expectedBodiesReceived("3 new posts", "1 new post");
    smtp.expectedHeaderValuesReceivedInAnyOrder("To", "ann@example.org", "bob@example.org");

    template.sendBodyAndHeader("direct:poll", null, "CamelTimerCounter", 1L);

    smtp.assertIsSatisfied();
    Exchange first = smtp.getReceivedExchanges().get(0);
    assertThat(first.getMessage().getHeaders())
        .containsOnlyKeys(EmailDelivery.EMAIL_ID, "To", "Subject", "Content-Type")
        .containsEntry("Subject", "Your digest")
        .containsEntry("Content-Type", "text/plain; charset=UTF-8");
    verify(emails).markSent(1);
    verify(emails).markSent(2);
    verify(emails, never()).markPermanentlyFailed(anyLong(), any(), anyString());
    assertThat(meters.get("quarry.email.sent").counter().count()).isEqualTo(2);
  }

  @Test
  void aMailRefusedWith550FailsForGoodWithTheRepliedCodeAndTextAndTheOthersStillGo()
      throws Exception {
    adviseAndStart();
    when(emails.claimPending(50))
        .thenReturn(
            List.of(
                new Email(1, "nobody@example.org", "Your digest", "3 new posts", 1),
                new Email(2, "bob@example.org", "Your digest", "1 new post", 1)));
    smtp.whenExchangeReceived(
        1,
        exchange -> {
          throw invalidAddresses(550, "550 5.1.1 <nobody@example.org>: user unknown");
        });
    smtp.expectedMessageCount(2);

    template.sendBody("direct:poll", null);

    smtp.assertIsSatisfied();
    verify(emails).markPermanentlyFailed(1, 550, "550 5.1.1 <nobody@example.org>: user unknown");
    verify(emails, never()).retryLater(anyLong(), any(), anyString(), any(), any(), anyInt());
    verify(emails, never()).markSent(1);
    verify(emails).markSent(2);
    assertThat(counted("quarry.email.failed", "permanent")).isEqualTo(1);
    assertThat(counted("quarry.email.failed", "transient")).isZero();
    assertThat(meters.get("quarry.email.sent").counter().count()).isEqualTo(1);
  }

  @Test
  void aMailDeferredWith451IsRetriedLaterWithBackoffAndItsReplyNotTheSameAsA550() throws Exception {
    adviseAndStart();
    when(emails.claimPending(50))
        .thenReturn(List.of(new Email(1, "busy@example.org", "Your digest", "3 new posts", 2)));
    smtp.whenExchangeReceived(
        1,
        exchange -> {
          throw invalidAddresses(451, "451 4.3.0 <busy@example.org>: try again later");
        });
    smtp.expectedMessageCount(1);

    template.sendBody("direct:poll", null);

    smtp.assertIsSatisfied();
    verify(emails)
        .retryLater(
            1,
            451,
            "451 4.3.0 <busy@example.org>: try again later",
            Duration.ofMinutes(5),
            Duration.ofHours(1),
            5);
    verify(emails, never()).markPermanentlyFailed(anyLong(), any(), anyString());
    assertThat(counted("quarry.email.failed", "transient")).isEqualTo(1);
  }

  @Test
  void aRefusedConnectionGivesTheAttemptBackAndPostponesTheRestOfTheBatchUntried()
      throws Exception {
    adviseAndStart();
    when(emails.claimPending(50))
        .thenReturn(
            List.of(
                new Email(1, "ann@example.org", "Your digest", "3 new posts", 1),
                new Email(2, "bob@example.org", "Your digest", "1 new post", 1)));
    smtp.whenExchangeReceived(
        1,
        exchange -> {
          throw new MessagingException(
              "Couldn't connect to host, port: mail.example.org, 25; timeout 10000",
              new ConnectException("Connection refused"));
        });
    smtp.expectedMessageCount(1);

    template.sendBody("direct:poll", null);

    smtp.assertIsSatisfied();
    verify(emails).postpone(eq(1L), contains("Connection refused"), eq(Duration.ofMinutes(1)));
    verify(emails).postpone(2, null, Duration.ofMinutes(1));
    verify(emails, never()).retryLater(anyLong(), any(), anyString(), any(), any(), anyInt());
    verify(emails, never()).markPermanentlyFailed(anyLong(), any(), anyString());
    assertThat(counted("quarry.email.failed", "unreachable")).isEqualTo(1);
  }

  private double counted(String name, String failureClass) {
    return meters.get(name).tag("class", failureClass).counter().count();
  }

  /** What Angus Mail throws for a refused recipient: the reply is two exceptions down. */
  private static SendFailedException invalidAddresses(int code, String reply) throws Exception {
    InternetAddress address = new InternetAddress("someone@example.org");
    SMTPAddressFailedException refused =
        new SMTPAddressFailedException(address, "RCPT TO:<someone@example.org>", code, reply);
    return new SendFailedException(
        "Invalid Addresses", refused, new Address[0], new Address[0], new Address[] {address});
  }

  @Test
  void noPendingMailSendsNothing() throws Exception {
    adviseAndStart();
    when(emails.claimPending(50)).thenReturn(List.of());
    smtp.expectedMessageCount(0);

    template.sendBody("direct:poll", null);

    smtp.assertIsSatisfied();
    verify(emails).claimPending(50);
  }
}
