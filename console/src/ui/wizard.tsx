// What every creation wizard shares: its step, the create request's error and busy state (a
// refusal naming a field takes the user back to that field's step), and the button row.

import { useState } from 'react';
import { ApiError } from '../api/errors';

/** `stepOf(field)`: the step that holds the field an error names ("" when it names none);
 * undefined stays where the user is. */
export function useWizard(stepOf: (field: string) => number | undefined) {
  const [step, setStep] = useState(0);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (create: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await create();
    } catch (e) {
      setError(e);
      const s = stepOf(e instanceof ApiError ? e.field : '');
      if (s !== undefined) setStep(s);
    } finally {
      setBusy(false);
    }
  };
  return { step, setStep, error, busy, submit };
}

export function WizardButtons({
  step,
  last,
  busy,
  onStep,
  onClose,
  onCreate,
}: {
  step: number;
  last: number;
  busy: boolean;
  onStep: (step: number) => void;
  onClose: () => void;
  onCreate: () => void;
}) {
  return (
    <div className="wizard-buttons">
      <button type="button" onClick={onClose}>
        Cancel
      </button>
      <button type="button" disabled={step === 0} onClick={() => onStep(step - 1)}>
        Back
      </button>
      {step < last ? (
        <button type="button" onClick={() => onStep(step + 1)}>
          Next
        </button>
      ) : (
        <button type="button" disabled={busy} onClick={onCreate}>
          Create
        </button>
      )}
    </div>
  );
}
