package io.quarry.routes.delivery;

import io.quarry.config.QuarryProperties;
import io.quarry.notification.EmailDelivery;
import io.quarry.notification.EmailRepository;
import io.quarry.notification.MailEndpoint;
import jakarta.mail.MessagingException;
import org.apache.camel.LoggingLevel;
import org.apache.camel.builder.RouteBuilder;
import org.springframework.stereotype.Component;

/**
 * Delivers pending mail over SMTP: claims a batch ({@code FOR UPDATE SKIP LOCKED}, so several
 * instances share the work), sends each mail on its own and marks it sent, or failed with the error
 * (the resend event retries it while attempts are left).
 */
@Component
public class EmailSenderRoutes extends RouteBuilder {

  public static final String SEND = "direct:email-sender";

  private final QuarryProperties properties;
  private final MailEndpoint mail;

  public EmailSenderRoutes(QuarryProperties properties, MailEndpoint mail) {
    this.properties = properties;
    this.mail = mail;
  }

  @Override
  public void configure() {
    from("timer:email-sender?period={{quarry.notification.sender-interval}}")
        .routeId("email-sender-poll")
        .to(SEND);

    from(SEND)
        .routeId("email-sender")
        .setBody(constant(properties.notification().senderBatchSize()))
        .bean(EmailRepository.class, "claimPending")
        .split(body())
        .setHeader(EmailDelivery.EMAIL_ID, simple("${body.id}"))
        .doTry()
        .removeHeaders("*", EmailDelivery.EMAIL_ID)
        .setHeader("To", simple("${body.recipient}"))
        .setHeader("Subject", simple("${body.subject}"))
        .setHeader("Content-Type", constant("text/plain; charset=UTF-8"))
        .setBody(simple("${body.body}"))
        .to(mail.uri())
        .bean(EmailDelivery.class, "sent")
        .doCatch(MessagingException.class)
        .bean(EmailDelivery.class, "failed")
        .log(
            LoggingLevel.WARN,
            "Email ${header." + EmailDelivery.EMAIL_ID + "} failed: ${exception.message}")
        .end();
  }
}
