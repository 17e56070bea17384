package io.quarry.config.validation;

import jakarta.validation.ConstraintValidator;
import jakarta.validation.ConstraintValidatorContext;
import java.util.Base64;

/** Accepts exactly 32 bytes of Base64; never echoes the value. */
public class AesKeyValidator implements ConstraintValidator<AesKey, String> {

  @Override
  public boolean isValid(String value, ConstraintValidatorContext context) {
    if (value == null || value.isBlank()) {
      return false;
    }
    try {
      return Base64.getDecoder().decode(value.trim()).length == 32;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }
}
