Console.Error.WriteLine("The emulator host is being built; see issue 3.");
return 1;
