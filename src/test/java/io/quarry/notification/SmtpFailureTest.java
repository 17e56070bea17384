package io.quarry.notification;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarry.notification.SmtpFailure.Kind;
import jakarta.mail.Address;
import jakarta.mail.MessagingException;
import jakarta.mail.SendFailedException;
import jakarta.mail.internet.AddressException;
import jakarta.mail.internet.InternetAddress;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import org.eclipse.angus.mail.smtp.SMTPAddressFailedException;
import org.eclipse.angus.mail.smtp.SMTPSendFailedException;
import org.eclipse.angus.mail.util.MailConnectException;
import org.eclipse.angus.mail.util.SocketConnectException;
import org.junit.jupiter.api.Test;

/** What JavaMail throws, read as the server's reply and what it means for the mail. */
class SmtpFailureTest {

  @Test
  void a550BehindInvalidAddressesIsPermanentWithTheServersReply() throws Exception {
    SmtpFailure failure =
        SmtpFailure.of(invalidAddresses(550, "550 5.1.1 <x@example.org>: user unknown"));

    assertThat(failure)
        .isEqualTo(new SmtpFailure(Kind.PERMANENT, 550, "550 5.1.1 <x@example.org>: user unknown"));
    assertThat(failure.permanent()).isTrue();
  }

  @Test
  void a451BehindTheSameInvalidAddressesIsTransientAndKeepsItsOwnReply() throws Exception {
    SmtpFailure failure =
        SmtpFailure.of(invalidAddresses(451, "451 4.7.1 <x@example.org>: greylisted"));

    assertThat(failure)
        .isEqualTo(new SmtpFailure(Kind.TRANSIENT, 451, "451 4.7.1 <x@example.org>: greylisted"));
  }

  @Test
  void aReplyToDataIsClassifiedByItsCode() {
    SmtpFailure failure =
        SmtpFailure.of(
            new SMTPSendFailedException(
                "DATA", 554, "554 5.7.1 message rejected as spam", null, null, null, null));

    assertThat(failure.kind()).isEqualTo(Kind.PERMANENT);
    assertThat(failure.code()).isEqualTo(554);
    assertThat(failure.reply()).isEqualTo("554 5.7.1 message rejected as spam");
  }

  @Test
  void aRefusedConnectionIsUnreachableAndNamesTheCause() {
    SmtpFailure failure =
        SmtpFailure.of(
            new MailConnectException(
                new SocketConnectException(
                    "Couldn't connect", new ConnectException("Connection refused"), "h", 25, 10)));

    assertThat(failure.kind()).isEqualTo(Kind.UNREACHABLE);
    assertThat(failure.code()).isNull();
    assertThat(failure.reply()).contains("Connection refused");
  }

  @Test
  void aServerThatNeverAnswersIsUnreachable() {
    SmtpFailure failure =
        SmtpFailure.of(
            new MessagingException(
                "Exception reading response", new SocketTimeoutException("Read timed out")));

    assertThat(failure.kind()).isEqualTo(Kind.UNREACHABLE);
    assertThat(failure.reply()).contains("Read timed out");
  }

  @Test
  void anAddressThatCannotBeWrittenIsPermanent() {
    SmtpFailure failure = SmtpFailure.of(new AddressException("Missing final '@domain'", "x"));

    assertThat(failure.kind()).isEqualTo(Kind.PERMANENT);
    assertThat(failure.reply()).startsWith("AddressException: Missing final '@domain'");
  }

  @Test
  void anErrorWithoutACodeIsTransient() {
    assertThat(SmtpFailure.of(new MessagingException("something odd")).kind())
        .isEqualTo(Kind.TRANSIENT);
    assertThat(SmtpFailure.of(null).kind()).isEqualTo(Kind.TRANSIENT);
  }

  private static SendFailedException invalidAddresses(int code, String reply) throws Exception {
    InternetAddress address = new InternetAddress("x@example.org");
    return new SendFailedException(
        "Invalid Addresses",
        new SMTPAddressFailedException(address, "RCPT TO:<x@example.org>", code, reply),
        new Address[0],
        new Address[0],
        new Address[] {address});
  }
}
